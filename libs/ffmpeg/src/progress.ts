/** One block of ffmpeg's `-progress` output (key=value lines ending with progress=...). */
export interface FfmpegProgress {
  frame?: number;
  fps?: number;
  /** kbit/s as ffmpeg reports it (N/A for the segment muxer). */
  bitrateKbps?: number;
  totalSize?: number;
  /** Output timestamp in microseconds. */
  outTimeUs?: number;
  speed?: number;
  dupFrames?: number;
  dropFrames?: number;
  /** "continue" while running, "end" on the last block. */
  progress: 'continue' | 'end';
}

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number.parseFloat(v);
  return Number.isFinite(n) ? n : undefined;
}

export function progressFromFields(f: Map<string, string>): FfmpegProgress {
  const out: FfmpegProgress = { progress: f.get('progress') === 'end' ? 'end' : 'continue' };
  const set = <K extends keyof FfmpegProgress>(k: K, v: FfmpegProgress[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('frame', num(f.get('frame')));
  set('fps', num(f.get('fps')));
  const br = f.get('bitrate');
  set('bitrateKbps', br ? num(br.replace(/kbits\/s$/, '')) : undefined);
  set('totalSize', num(f.get('total_size')));
  // out_time_us is the precise one; out_time_ms is (despite its name) also µs.
  set('outTimeUs', num(f.get('out_time_us')) ?? num(f.get('out_time_ms')));
  const sp = f.get('speed');
  set('speed', sp ? num(sp.replace(/x$/, '')) : undefined);
  set('dupFrames', num(f.get('dup_frames')));
  set('dropFrames', num(f.get('drop_frames')));
  return out;
}

/**
 * Incremental parser: feed it stdout chunks, it calls `onBlock` once per
 * complete progress block. Partial lines are kept until the next chunk.
 */
export class ProgressParser {
  private buffer = '';
  private fields = new Map<string, string>();

  constructor(private readonly onBlock: (p: FfmpegProgress) => void) {}

  push(chunk: string | Buffer): void {
    this.buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.line(line);
    }
    // Guard against a runaway line (never expected from ffmpeg).
    if (this.buffer.length > 64 * 1024) this.buffer = '';
  }

  private line(line: string): void {
    const eq = line.indexOf('=');
    if (eq <= 0) return;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    this.fields.set(key, value);
    if (key === 'progress') {
      const block = progressFromFields(this.fields);
      this.fields = new Map();
      this.onBlock(block);
    }
  }
}
