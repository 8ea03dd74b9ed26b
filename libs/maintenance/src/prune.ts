import type { RecorderConfig } from '@tapo/config';
import { freeDiskFloorBytes } from '@tapo/config';
import { diskUsage, executePrune, planPrune, type CameraSegments, type PlannedDeletion } from '@tapo/retention';
import type { SegmentIndex, SegmentRecord } from '@tapo/segment-index';

/** Index records read per round trip while planning (the first page is small: usually it is all that is needed). */
const PRUNE_FIRST_PAGE = 64;
const PRUNE_PAGE = 4096;

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
  let disk: { totalBytes: number; freeBytes: number } | undefined;
  try {
    disk = await diskUsage(config.recordingsDir);
  } catch {
    disk = undefined;
  }
  const minFreeBytes = disk ? freeDiskFloorBytes(config.minFreeDisk, disk.totalBytes) : undefined;
  const diskExcess = disk && minFreeBytes !== undefined ? Math.max(0, minFreeBytes - disk.freeBytes) : 0;
  const ids = new Set([...config.cameras.map((c) => c.id), ...(await index.cameras())]);
  const cameras: CameraSegments[] = [];
  for (const id of [...ids].sort()) {
    const cam = config.cameras.find((c) => c.id === id);
    const limits = cam?.retention ?? config.retention;
    const stats = await index.stats(id);
    if (stats.count === 0) continue;
    if (opts.onlyHost) {
      // Per-host disks: this host's segments only, and its totals from them.
      const segs = await index.oldest(id, stats.count + 100);
      cameras.push({ cameraId: id, limits, segments: segs.filter((s) => s.host === opts.onlyHost) });
      continue;
    }
    // Only the oldest part of the index: everything past maxAge, plus enough
    // bytes to cover what maxSize and the free-disk floor can ask for (and a
    // little more, for the oldest segment kept). The steady state reads a page.
    const ageCount = limits.maxAgeSeconds !== undefined ? await index.countStartingBefore(id, now - limits.maxAgeSeconds * 1000) : 0;
    const sizeExcess = limits.maxBytes !== undefined ? Math.max(0, stats.bytes - limits.maxBytes) : 0;
    const segments: SegmentRecord[] = [];
    let beyondAgeBytes = 0;
    let largest = 0;
    for (let page = PRUNE_FIRST_PAGE; segments.length < stats.count; page = PRUNE_PAGE) {
      const got = await index.oldest(id, page, segments.length);
      if (got.length === 0) break;
      for (const s of got) {
        segments.push(s);
        largest = Math.max(largest, s.bytes);
        if (segments.length > ageCount) beyondAgeBytes += s.bytes;
      }
      // A deletion pass may overshoot its target by a segment: two segments of margin.
      if (segments.length > ageCount && beyondAgeBytes > sizeExcess + diskExcess + 2 * largest) break;
    }
    cameras.push({ cameraId: id, limits, segments, totalCount: stats.count, totalBytes: stats.bytes });
  }
  const plan = planPrune({
    now,
    cameras,
    ...(disk && minFreeBytes !== undefined ? { disk, minFreeBytes } : {}),
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
