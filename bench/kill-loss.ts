// Video lost on kill -9 of ffmpeg: our fragmented MP4 against a plain MP4.
// Bare ffmpeg with our recording arguments (buildRecordArgs, 60 s segments)
// against the simulated camera, twice at once: as is (fragmented) and with the
// segment muxer's format options replaced by a plain `movflags=+faststart`.
// Each is killed with SIGKILL after ~6 s of video; then
//   recorded = wall time since the first frame (from ffmpeg's progress pipe:
//              media time muxed at its last report, plus the wall time since),
//   playable = video frames ffprobe reads / 15 (0 when ffprobe fails).
// The plain file is then repaired with rebuildMoov (@tapo/mp4), the way the
// repair queue does (libs/maintenance/src/repair-steps.ts): a good reference
// segment recorded first with the same settings gives the track layout.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { buildRecordArgs } from '@tapo/ffmpeg';
import { rebuildMoov } from '@tapo/mp4';
import type { SimCamera } from '@tapo/sim-camera';
import { ensureDayFolders, ffmpegSegmentPattern, listSegmentFiles } from '@tapo/storage';
import { stopChild, track, withCleanup } from './children.js';
import { ratioText, row, type Row } from './table.js';

const FPS = 15;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Variant = 'fragmented' | 'plain';

export interface KilledFile {
  variant: Variant;
  /** Wall time since the first frame when SIGKILL was sent. */
  recordedSeconds: number;
  /** Frames ffmpeg reported as written at its last progress report before the kill. */
  framesReported: number;
  bytes: number;
  frames: number;
  playableSeconds: number;
  lostSeconds: number;
  probeError?: string;
}

export interface KillLossRun {
  fragmented: KilledFile;
  plain: KilledFile;
  plainRepaired: { frames: number; playableSeconds: number; lostSeconds: number; ms: number; videoSamples?: number; audioSamples?: number; notes?: string[]; error?: string };
}

export interface KillLossResult {
  killAfterSeconds: number;
  reference: { seconds: number; frames: number; bytes: number };
  runs: KillLossRun[];
  rows: Row[];
}

/** ffmpeg with our arguments; the progress pipe (fd 1) tells when the first frame was written. */
class Recorder {
  readonly child: ChildProcess;
  /** Latest progress report (wall time it arrived, media time and frames muxed). */
  last?: { wall: number; outTimeSeconds: number; frame: number };
  stderrTail = '';

  constructor(url: string, readonly dir: string, readonly id: string, readonly variant: Variant) {
    const args = buildRecordArgs({ url, outputPattern: ffmpegSegmentPattern(dir, id), segmentSeconds: 60, audio: 'aac' });
    if (variant === 'plain') {
      const i = args.indexOf('-segment_format_options');
      if (i < 0) throw new Error('buildRecordArgs no longer passes -segment_format_options: update bench/kill-loss.ts');
      args[i + 1] = 'movflags=+faststart';
    }
    this.child = track(spawn('ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } }));
    (this.child.stdio[3] as NodeJS.ReadableStream | null)?.resume();
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderrTail = (this.stderrTail + d).slice(-2000)));
    let buf = '';
    const fields = new Map<string, string>();
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        const eq = line.indexOf('=');
        if (eq < 0) continue;
        const k = line.slice(0, eq);
        fields.set(k, line.slice(eq + 1));
        if (k !== 'progress') continue;
        const us = Number(fields.get('out_time_us'));
        const frame = Number(fields.get('frame'));
        if (Number.isFinite(us) && us > 0 && frame > 0) this.last = { wall: Date.now(), outTimeSeconds: us / 1e6, frame };
      }
    });
  }

  /** Wall time at which the first frame came in, as of the latest progress report. */
  firstFrameAt(): number | undefined {
    return this.last ? this.last.wall - this.last.outTimeSeconds * 1000 : undefined;
  }

  async waitRecorded(seconds: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const first = this.firstFrameAt();
      if (first !== undefined && Date.now() - first >= seconds * 1000) return;
      if (this.child.exitCode !== null) throw new Error(`ffmpeg (${this.variant}) exited early (code ${this.child.exitCode}): ${this.stderrTail.trim().slice(-500)}`);
      if (Date.now() > deadline) throw new Error(`ffmpeg (${this.variant}) has not recorded ${seconds} s after ${timeoutMs / 1000} s: ${this.stderrTail.trim().slice(-500)}`);
      await sleep(20);
    }
  }

  async file(): Promise<{ path: string; bytes: number }> {
    const segs = await listSegmentFiles(this.dir, this.id);
    if (segs.length !== 1) throw new Error(`expected one segment file for ${this.variant}, found ${segs.length}`);
    return { path: segs[0]!.path, bytes: segs[0]!.bytes };
  }
}

export async function countFrames(file: string): Promise<{ frames: number; error?: string }> {
  const r = await execa('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file], { reject: false });
  if (r.exitCode !== 0) return { frames: 0, error: r.stderr.trim().split('\n').slice(-2).join(' | ').slice(0, 300) };
  const n = Number(r.stdout.trim().split(/\s+/)[0]);
  return Number.isFinite(n) ? { frames: n, ...(r.stderr.trim() ? { error: r.stderr.trim().slice(0, 300) } : {}) } : { frames: 0, error: `ffprobe said: ${r.stdout.trim().slice(0, 100)}` };
}

async function killAfter(rec: Recorder, seconds: number): Promise<KilledFile> {
  await rec.waitRecorded(seconds);
  const first = rec.firstFrameAt()!;
  const framesReported = rec.last!.frame;
  const killedAt = Date.now();
  const exited = new Promise<void>((r) => rec.child.once('exit', () => r()));
  rec.child.kill('SIGKILL');
  await exited;
  const recordedSeconds = (killedAt - first) / 1000;
  const f = await rec.file();
  const c = await countFrames(f.path);
  const playableSeconds = c.frames / FPS;
  return { variant: rec.variant, recordedSeconds, framesReported, bytes: f.bytes, frames: c.frames, playableSeconds, lostSeconds: recordedSeconds - playableSeconds, ...(c.error ? { probeError: c.error } : {}) };
}

/** A good plain segment with the same settings, closed cleanly ("q" on stdin): the reference for rebuildMoov. */
async function recordReference(url: string, dir: string): Promise<{ path: string; seconds: number; frames: number; bytes: number }> {
  await ensureDayFolders(dir, 'ref');
  const rec = new Recorder(url, dir, 'ref', 'plain');
  try {
    await rec.waitRecorded(3);
    rec.child.stdin!.write('q');
    await stopChild(rec.child, 'SIGCONT', 10_000); // "q" does the stopping; SIGKILL only if it hangs
  } finally {
    await stopChild(rec.child, 'SIGKILL', 1000);
  }
  const f = await rec.file();
  const c = await countFrames(f.path);
  if (!c.frames || c.error) throw new Error(`the reference segment does not play: ${c.error ?? 'no frames'}`);
  return { path: f.path, seconds: c.frames / FPS, frames: c.frames, bytes: f.bytes };
}

export async function measureKillLoss(camera: SimCamera, runs: number, killAfterSeconds = 6): Promise<KillLossResult> {
  const url = camera.url('stream1', true);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-kill-'));
  const recorders: Recorder[] = [];
  const cleanup = async () => {
    for (const r of recorders) await stopChild(r.child, 'SIGKILL', 1000);
    rmSync(dir, { recursive: true, force: true });
  };
  return withCleanup(cleanup, async () => {
    const ref = await recordReference(url, dir);
    const out: KillLossRun[] = [];
    for (let i = 0; i < runs; i++) {
      const ids = { fragmented: `frag${i}`, plain: `plain${i}` };
      for (const id of Object.values(ids)) await ensureDayFolders(dir, id);
      const frag = new Recorder(url, dir, ids.fragmented, 'fragmented');
      const plain = new Recorder(url, dir, ids.plain, 'plain');
      recorders.push(frag, plain);
      const [fk, pk] = await Promise.all([killAfter(frag, killAfterSeconds), killAfter(plain, killAfterSeconds)]);
      // Repair the plain file as the repair queue would.
      const repaired = path.join(dir, `plain${i}.rebuilt.mp4`);
      let plainRepaired: KillLossRun['plainRepaired'];
      const t = performance.now();
      try {
        const res = await rebuildMoov((await plain.file()).path, repaired, { reference: ref.path });
        const ms = performance.now() - t;
        const c = await countFrames(repaired);
        plainRepaired = { frames: c.frames, playableSeconds: c.frames / FPS, lostSeconds: pk.recordedSeconds - c.frames / FPS, ms, videoSamples: res.videoSamples, audioSamples: res.audioSamples, notes: res.notes };
      } catch (e) {
        plainRepaired = { frames: 0, playableSeconds: 0, lostSeconds: pk.recordedSeconds, ms: performance.now() - t, error: String(e) };
      }
      out.push({ fragmented: fk, plain: pk, plainRepaired });
      process.stderr.write(
        `kill-loss run ${i + 1}/${runs}: fragmented ${fk.playableSeconds.toFixed(2)}/${fk.recordedSeconds.toFixed(2)} s playable, plain ${pk.playableSeconds.toFixed(2)}/${pk.recordedSeconds.toFixed(2)} s, plain after rebuildMoov ${plainRepaired.playableSeconds.toFixed(2)} s\n`,
      );
    }
    const { path: _p, ...reference } = ref;
    return { killAfterSeconds, reference, runs: out, rows: killLossRows(out, killAfterSeconds) };
  });
}

export function killLossRows(runs: KillLossRun[], killAfterSeconds: number): Row[] {
  const frag = row(`kill -9 of bare ffmpeg ~${killAfterSeconds} s in: video lost, fragmented MP4 (ours)`, runs.map((r) => r.fragmented.lostSeconds), {
    target: '≤ 1 s',
    limit: { max: 1 },
    unit: 's',
    how: `recorded (wall time since the first frame) − playable (ffprobe -count_frames / ${FPS}); playable ${runs.map((r) => `${r.fragmented.playableSeconds.toFixed(1)}/${r.fragmented.recordedSeconds.toFixed(1)}`).join(', ')} s`,
  });
  const plain = row(`kill -9 of bare ffmpeg ~${killAfterSeconds} s in: video lost, plain MP4`, runs.map((r) => r.plain.lostSeconds), {
    unit: 's',
    how: `same arguments, -segment_format_options movflags=+faststart; playable ${runs.map((r) => `${r.plain.playableSeconds.toFixed(1)}/${r.plain.recordedSeconds.toFixed(1)}`).join(', ')} s${runs.some((r) => r.plain.probeError) ? ' (ffprobe fails: no moov)' : ''}`,
  });
  frag.baseline = `plain MP4: ${plain.median?.toFixed(2) ?? '—'} s lost / ${ratioText(plain.median, frag.median)}`;
  const errors = runs.filter((r) => r.plainRepaired.error).map((r) => r.plainRepaired.error);
  const repaired = row(`kill -9 of bare ffmpeg ~${killAfterSeconds} s in: video lost, plain MP4 after rebuildMoov`, runs.map((r) => r.plainRepaired.lostSeconds), {
    unit: 's',
    baseline: `plain MP4 unrepaired: ${plain.median?.toFixed(2) ?? '—'} s lost`,
    how: `rebuildMoov (@tapo/mp4) with a reference segment recorded with the same settings; playable ${runs.map((r) => r.plainRepaired.playableSeconds.toFixed(1)).join(', ')} s${errors.length ? `; failed: ${errors.join('; ')}` : ''}`,
  });
  return [frag, plain, repaired];
}
