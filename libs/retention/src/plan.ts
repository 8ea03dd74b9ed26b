import type { RetentionLimits } from '@tapo/config';

export interface PruneCandidate {
  cameraId: string;
  /** Relative to recordingsDir. */
  file: string;
  startMs: number;
  durationMs: number;
  bytes: number;
}

export interface CameraSegments {
  cameraId: string;
  limits: RetentionLimits;
  /**
   * Indexed (closed) segments, oldest first. The segment being written is never
   * indexed. May be only the oldest part of the camera's segments when
   * `totalCount`/`totalBytes` give the whole (the caller then loads enough of
   * the oldest to cover every deletion the limits can ask for).
   */
  segments: PruneCandidate[];
  /** All the camera's segments (default: `segments` is all of them). */
  totalCount?: number;
  totalBytes?: number;
}

export interface PruneInput {
  now: number;
  cameras: CameraSegments[];
  /** The recordings filesystem, when a free-space floor applies. */
  disk?: { totalBytes: number; freeBytes: number };
  minFreeBytes?: number;
}

export type PruneReason = 'age' | 'size' | 'disk';

export interface PlannedDeletion extends PruneCandidate {
  reason: PruneReason;
}

export interface CameraPruneSummary {
  cameraId: string;
  deleted: number;
  bytes: number;
  keptCount: number;
  keptBytes: number;
  /** Start of the oldest segment kept. */
  oldestKeptMs?: number;
}

export interface PrunePlan {
  delete: PlannedDeletion[];
  cameras: CameraPruneSummary[];
  /** Free bytes expected after the deletions. */
  freeBytesAfter?: number;
  /** True when the free-disk floor cannot be reached by deleting segments. */
  floorUnreachable?: boolean;
}

/**
 * Decides what the ring buffer deletes, oldest first, until every limit holds:
 * per camera maxAge (a segment whose end is older) and maxSize, then the
 * free-disk floor across all cameras (globally oldest first). Pure.
 */
export function planPrune(input: PruneInput): PrunePlan {
  const del: PlannedDeletion[] = [];
  const kept = new Map<string, PruneCandidate[]>();
  /** Per camera: bytes and count of the segments not in `segments` (loaded only in part). */
  const unloaded = new Map<string, { count: number; bytes: number }>();
  for (const cam of input.cameras) {
    const segs = [...cam.segments].sort((a, b) => a.startMs - b.startMs);
    const loadedBytes = segs.reduce((a, x) => a + x.bytes, 0);
    unloaded.set(cam.cameraId, {
      count: Math.max(0, (cam.totalCount ?? segs.length) - segs.length),
      bytes: Math.max(0, (cam.totalBytes ?? loadedBytes) - loadedBytes),
    });
    let i = 0;
    if (cam.limits.maxAgeSeconds !== undefined) {
      const cutoff = input.now - cam.limits.maxAgeSeconds * 1000;
      while (i < segs.length && segs[i]!.startMs + segs[i]!.durationMs < cutoff) del.push({ ...segs[i++]!, reason: 'age' });
    }
    if (cam.limits.maxBytes !== undefined) {
      let total = unloaded.get(cam.cameraId)!.bytes;
      for (let k = i; k < segs.length; k++) total += segs[k]!.bytes;
      while (i < segs.length && total > cam.limits.maxBytes) {
        total -= segs[i]!.bytes;
        del.push({ ...segs[i++]!, reason: 'size' });
      }
    }
    kept.set(cam.cameraId, segs.slice(i));
  }

  let freeBytesAfter: number | undefined;
  let floorUnreachable = false;
  if (input.disk && input.minFreeBytes !== undefined) {
    let free = input.disk.freeBytes + del.reduce((a, d) => a + d.bytes, 0);
    if (free < input.minFreeBytes) {
      // Merge the cameras' remaining segments, oldest first.
      const pool = [...kept.values()].flat().sort((a, b) => a.startMs - b.startMs);
      const gone = new Set<PruneCandidate>();
      for (const s of pool) {
        if (free >= input.minFreeBytes) break;
        del.push({ ...s, reason: 'disk' });
        gone.add(s);
        free += s.bytes;
      }
      for (const [id, segs] of kept) kept.set(id, segs.filter((s) => !gone.has(s)));
      floorUnreachable = free < input.minFreeBytes;
    }
    freeBytesAfter = free;
  }

  const cameras: CameraPruneSummary[] = input.cameras.map((c) => {
    const mine = del.filter((d) => d.cameraId === c.cameraId);
    const k = kept.get(c.cameraId) ?? [];
    const rest = unloaded.get(c.cameraId) ?? { count: 0, bytes: 0 };
    const summary: CameraPruneSummary = {
      cameraId: c.cameraId,
      deleted: mine.length,
      bytes: mine.reduce((a, d) => a + d.bytes, 0),
      keptCount: k.length + rest.count,
      keptBytes: k.reduce((a, s) => a + s.bytes, 0) + rest.bytes,
    };
    if (k[0]) summary.oldestKeptMs = k[0].startMs;
    return summary;
  });
  return {
    delete: del,
    cameras,
    ...(freeBytesAfter !== undefined ? { freeBytesAfter } : {}),
    ...(floorUnreachable ? { floorUnreachable } : {}),
  };
}
