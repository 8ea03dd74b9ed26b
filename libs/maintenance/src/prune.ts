import type { RecorderConfig } from '@tapo/config';
import { freeDiskFloorBytes } from '@tapo/config';
import { diskUsage, executePrune, planPrune, type CameraSegments, type PlannedDeletion } from '@tapo/retention';
import type { SegmentIndex } from '@tapo/segment-index';

export interface PruneSummary {
  dryRun: boolean;
  deleted: number;
  bytes: number;
  byReason: Record<string, number>;
  cameras: Array<{ cameraId: string; deleted: number; bytes: number; keptCount: number; oldestKept?: string }>;
  /** Size of the recordings filesystem. */
  diskTotalBytes?: number;
  freeBytesBefore?: number;
  freeBytesAfter?: number;
  floorUnreachable?: boolean;
  skipped: Array<{ file: string; why: string }>;
  /** With dryRun: what would go. */
  wouldDelete?: Array<{ file: string; reason: string; bytes: number }>;
  tookMs: number;
}

/**
 * One prune of the ring buffer: for every camera in the index (configured or
 * not: a removed camera keeps the global limits), delete oldest first until
 * maxAge, maxSize and the free-disk floor hold. Only indexed (closed) segments
 * are candidates, so the segment being written is never touched.
 * `onlyHost` restricts to segments written on that host (storage: local).
 */
export async function runPrune(opts: {
  config: RecorderConfig;
  index: SegmentIndex;
  dryRun?: boolean;
  now?: number;
  onlyHost?: string;
  /** Adds to the install's event counters (not in dry runs). */
  count?(field: string, by: number): Promise<void>;
}): Promise<PruneSummary> {
  const t0 = performance.now();
  const now = opts.now ?? Date.now();
  const { config, index } = opts;
  const ids = new Set([...config.cameras.map((c) => c.id), ...(await index.cameras())]);
  const cameras: CameraSegments[] = [];
  for (const id of [...ids].sort()) {
    const cam = config.cameras.find((c) => c.id === id);
    const stats = await index.stats(id);
    if (stats.count === 0) continue;
    const segs = await index.oldest(id, stats.count + 100);
    cameras.push({
      cameraId: id,
      limits: cam?.retention ?? config.retention,
      segments: segs
        .filter((s) => !opts.onlyHost || s.host === opts.onlyHost)
        .map((s) => ({ cameraId: id, file: s.file, startMs: s.startMs, durationMs: s.durationMs, bytes: s.bytes })),
    });
  }
  let disk: { totalBytes: number; freeBytes: number } | undefined;
  try {
    disk = await diskUsage(config.recordingsDir);
  } catch {
    disk = undefined;
  }
  const plan = planPrune({
    now,
    cameras,
    ...(disk ? { disk, minFreeBytes: freeDiskFloorBytes(config.minFreeDisk, disk.totalBytes) } : {}),
  });
  const byReason: Record<string, number> = {};
  for (const d of plan.delete) byReason[d.reason] = (byReason[d.reason] ?? 0) + 1;
  const summary: PruneSummary = {
    dryRun: !!opts.dryRun,
    deleted: 0,
    bytes: 0,
    byReason,
    cameras: plan.cameras.map((c) => ({
      cameraId: c.cameraId,
      deleted: c.deleted,
      bytes: c.bytes,
      keptCount: c.keptCount,
      ...(c.oldestKeptMs !== undefined ? { oldestKept: new Date(c.oldestKeptMs).toISOString() } : {}),
    })),
    ...(disk ? { diskTotalBytes: disk.totalBytes, freeBytesBefore: disk.freeBytes } : {}),
    ...(plan.freeBytesAfter !== undefined ? { freeBytesAfter: plan.freeBytesAfter } : {}),
    ...(plan.floorUnreachable ? { floorUnreachable: true } : {}),
    skipped: [],
    tookMs: 0,
  };
  if (opts.dryRun) {
    summary.wouldDelete = plan.delete.map((d: PlannedDeletion) => ({ file: d.file, reason: d.reason, bytes: d.bytes }));
    summary.deleted = plan.delete.length;
    summary.bytes = plan.delete.reduce((a, d) => a + d.bytes, 0);
  } else {
    const res = await executePrune(plan.delete, {
      recordingsDir: config.recordingsDir,
      now,
      forget: async (cam, files) => {
        await index.remove(cam, files);
      },
    });
    summary.deleted = res.deleted;
    summary.bytes = res.bytes;
    summary.skipped = res.skipped;
    if (res.deleted) {
      await opts.count?.('prune:deleted', res.deleted);
      await opts.count?.('prune:bytes', res.bytes);
    }
  }
  summary.tookMs = Math.round(performance.now() - t0);
  return summary;
}
