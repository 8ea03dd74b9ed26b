import { execa } from 'execa';

const oneLine = (s: string) => s.trim().replace(/\s*\n\s*/g, ' | ');

export interface DecodeReport {
  /** ffprobe read the container and ffmpeg decoded to the end (exit 0). */
  readable: boolean;
  /** Video frames decoded. */
  videoFrames: number;
  /** ffmpeg's error lines (decode errors), at most 20. */
  errors: string[];
  /** One line: the duration, or what went wrong. */
  detail: string;
}

/**
 * Decodes the whole file (ffprobe, then ffmpeg to the null muxer), bounded in
 * time (`timeoutMs`, default 5 min) so a hostile file cannot hold a process.
 * Costs a full decode (about 1/10 of the video's duration on an x86 core for
 * 1080p H.264).
 */
export async function decodeReport(file: string, o: { timeoutMs?: number } = {}): Promise<DecodeReport> {
  const timeout = o.timeoutMs ?? 300_000;
  const fail = (detail: string): DecodeReport => ({ readable: false, videoFrames: 0, errors: [], detail });
  const probe = await execa('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { reject: false, timeout });
  if (probe.timedOut) return fail(`ffprobe: no answer within ${timeout / 1000} s`);
  if (probe.exitCode !== 0) return fail(`ffprobe: ${oneLine(probe.stderr).slice(0, 300)}`);
  const dec = await execa('ffmpeg', ['-hide_banner', '-nostdin', '-nostats', '-v', 'error', '-i', file, '-f', 'null', '-progress', 'pipe:1', '-'], { reject: false, timeout });
  if (dec.timedOut) return fail(`decode: not done within ${timeout / 1000} s`);
  const frames = [...dec.stdout.matchAll(/^frame=(\d+)$/gm)].at(-1)?.[1];
  const errors = dec.stderr.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 20);
  if (dec.exitCode !== 0) return { readable: false, videoFrames: Number(frames ?? 0), errors, detail: `decode: ${errors.join(' | ').slice(0, 300) || `ffmpeg exit ${dec.exitCode}`}` };
  return { readable: true, videoFrames: Number(frames ?? 0), errors, detail: `duration ${probe.stdout.trim()} s` };
}

/**
 * The proof that a file plays, as the repair chain ends with it: ffprobe
 * accepts it and ffmpeg decodes every frame without a single error line.
 */
export async function decodesCleanly(file: string, o: { timeoutMs?: number } = {}): Promise<{ ok: boolean; detail: string }> {
  const r = await decodeReport(file, o);
  if (!r.readable) return { ok: false, detail: r.detail };
  if (r.errors.length) return { ok: false, detail: `decode: ${r.errors.join(' | ').slice(0, 300)}` };
  return { ok: true, detail: r.detail };
}

export interface EndsDecode {
  ok: boolean;
  detail: string;
  /** Seconds of media decoded (of the file's duration). */
  decodedSeconds: number;
}

/**
 * Decodes only the first and the last GOP (one ffmpeg, the file opened twice: `-t firstGopEnd` and
 * `-ss` into the last GOP, which ffmpeg starts decoding at the keyframe before it), every stream of
 * those spans: proves that the sample descriptions fit the data at the start and that the end of the
 * file decodes, for a fraction of a full decode. Files of one or two GOPs, or whose two ends overlap,
 * are decoded whole. Same verdict rule as decodesCleanly: any error line fails.
 */
export async function decodeEnds(
  file: string,
  gops: { firstGopEnd: number; lastGopStart: number; duration: number },
  o: { timeoutMs?: number } = {},
): Promise<EndsDecode> {
  const timeout = o.timeoutMs ?? 300_000;
  const { firstGopEnd, lastGopStart, duration } = gops;
  // Seek a little past the last keyframe: ffmpeg goes back to it (never forward to a later one).
  const seek = Math.min(lastGopStart + Math.min(0.5, (duration - lastGopStart) / 2), Math.max(0, duration - 0.001));
  const whole = !(lastGopStart > firstGopEnd) || !Number.isFinite(seek);
  const inputs = whole
    ? ['-i', file]
    : ['-t', firstGopEnd.toFixed(3), '-i', file, '-ss', seek.toFixed(3), '-i', file, '-map', '0', '-map', '1'];
  const dec = await execa('ffmpeg', ['-hide_banner', '-nostdin', '-nostats', '-v', 'error', ...inputs, '-f', 'null', '-'], { reject: false, timeout });
  const decodedSeconds = whole ? duration : firstGopEnd + (duration - lastGopStart);
  if (dec.timedOut) return { ok: false, detail: `decode: not done within ${timeout / 1000} s`, decodedSeconds: 0 };
  const errors = dec.stderr.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 20);
  if (dec.exitCode !== 0 || errors.length) return { ok: false, detail: `decode: ${errors.join(' | ').slice(0, 300) || `ffmpeg exit ${dec.exitCode}`}`, decodedSeconds };
  const span = whole ? `decoded whole (${duration.toFixed(1)} s)` : `decoded the first GOP (0-${firstGopEnd.toFixed(1)} s) and the last (from ${lastGopStart.toFixed(1)} s of ${duration.toFixed(1)} s)`;
  return { ok: true, detail: span, decodedSeconds };
}
