// What `recorder replicas` prints per camera of a target. Pure.
import type { CopyEntry } from './copies.js';

export interface CameraCopies {
  cameraId: string;
  /** Whole segments. */
  whole: number;
  /** Segments only as live chunks (still being recorded when sent). */
  live: number;
  /** Stored bytes (sealed sizes when encrypted). */
  bytes: number;
  /** Start of the oldest / newest segment, UTC ISO. */
  oldest: string;
  newest: string;
  encrypted: boolean;
}

/** One line per camera, by camera id. */
export function summarizeCopies(entries: readonly CopyEntry[]): CameraCopies[] {
  const by = new Map<string, { whole: number; live: number; bytes: number; oldest: number; newest: number; encrypted: boolean }>();
  for (const e of entries) {
    const s = by.get(e.cameraId) ?? { whole: 0, live: 0, bytes: 0, oldest: Infinity, newest: -Infinity, encrypted: e.encrypted };
    if (e.kind === 'whole') s.whole++;
    else s.live++;
    s.bytes += e.bytes;
    s.oldest = Math.min(s.oldest, e.startMs);
    s.newest = Math.max(s.newest, e.startMs);
    s.encrypted ||= e.encrypted;
    by.set(e.cameraId, s);
  }
  return [...by]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([cameraId, s]) => ({ cameraId, whole: s.whole, live: s.live, bytes: s.bytes, oldest: new Date(s.oldest).toISOString(), newest: new Date(s.newest).toISOString(), encrypted: s.encrypted }));
}
