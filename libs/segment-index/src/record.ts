export type SegmentStatus = 'ok' | 'repaired' | 'unrecoverable' | 'pending';

/** One segment file in the index. */
export interface SegmentRecord {
  cameraId: string;
  /** Path relative to recordingsDir: <camera>/<YYYY-MM-DD>/<name>. */
  file: string;
  /** UTC start, ms since epoch. */
  startMs: number;
  durationMs: number;
  bytes: number;
  status: SegmentStatus;
  /** Hostname of the worker that wrote it. */
  host: string;
}

const STATUSES: readonly SegmentStatus[] = ['ok', 'repaired', 'unrecoverable', 'pending'];

/** Compact value stored per segment: "durationMs|bytes|status|host". */
export function encodeInfo(r: Pick<SegmentRecord, 'durationMs' | 'bytes' | 'status' | 'host'>): string {
  return `${Math.round(r.durationMs)}|${Math.round(r.bytes)}|${r.status}|${r.host.replace(/\|/g, '_')}`;
}

export function decodeInfo(
  cameraId: string,
  file: string,
  startMs: number,
  info: string,
): SegmentRecord {
  const [d, b, s, ...h] = info.split('|');
  const status = STATUSES.includes(s as SegmentStatus) ? (s as SegmentStatus) : 'pending';
  return {
    cameraId,
    file,
    startMs,
    durationMs: Number(d) || 0,
    bytes: Number(b) || 0,
    status,
    host: h.join('|'),
  };
}
