/** One line of the segment muxer's csv list: a segment that was closed. */
export interface SegmentListEntry {
  /** As ffmpeg wrote it (basename of the segment). */
  name: string;
  /** Start and end, seconds on the input's timeline. */
  startSeconds: number;
  endSeconds: number;
}

/** Parses `name,start,end` (the name may be csv-quoted). */
export function parseSegmentListLine(line: string): SegmentListEntry | undefined {
  const trimmed = line.trim();
  if (!trimmed) return undefined;
  const m = /^(?:"((?:[^"]|"")*)"|([^,]*)),(-?[\d.]+),(-?[\d.]+)$/.exec(trimmed);
  if (!m) return undefined;
  const name = m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!;
  const startSeconds = Number(m[3]);
  const endSeconds = Number(m[4]);
  if (!Number.isFinite(startSeconds) || !Number.isFinite(endSeconds)) return undefined;
  return { name, startSeconds, endSeconds };
}

/** Line splitter for a stream of csv entries. */
export class SegmentListParser {
  private buffer = '';
  constructor(private readonly onEntry: (e: SegmentListEntry) => void) {}
  push(chunk: string | Buffer): void {
    this.buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      const e = parseSegmentListLine(line);
      if (e) this.onEntry(e);
    }
  }
}
