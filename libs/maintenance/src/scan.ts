import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { CAMERA_ID, type RecorderConfig } from '@tapo/config';
import type { SegmentIndex } from '@tapo/segment-index';
import { listSegmentFiles } from '@tapo/storage';
import type { SegmentLifecycle } from '@tapo/segment-lifecycle';
import { isPlayable } from './verify-file.js';

export interface ScanResult {
  cameras: number;
  indexed: number;
  known: number;
  broken: number;
  skippedLive: number;
}

/**
 * Indexes segment files on disk that the index does not know (after a crash,
 * or after Redis lost the index: `rebuild` clears each camera's index first).
 * Files that do not play as they are go to a verify job. Files written in the
 * last 15 s are left alone (probably being recorded).
 */
export async function scanRecordings(opts: {
  config: RecorderConfig;
  index: SegmentIndex;
  host: string;
  rebuild?: boolean;
  cameras?: string[];
  /** Indexes what is found; playable files go to its consumers, the others to the verify job. */
  segments: Pick<SegmentLifecycle, 'found'>;
}): Promise<ScanResult> {
  const root = opts.config.recordingsDir;
  let ids = opts.cameras;
  if (!ids) {
    try {
      ids = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory() && CAMERA_ID.test(d.name)).map((d) => d.name);
    } catch {
      ids = [];
    }
  }
  const res: ScanResult = { cameras: ids.length, indexed: 0, known: 0, broken: 0, skippedLive: 0 };
  const now = Date.now();
  for (const cameraId of ids) {
    if (opts.rebuild) await opts.index.clear(cameraId);
    const files = await listSegmentFiles(root, cameraId);
    const segLen = (opts.config.cameras.find((c) => c.id === cameraId)?.segmentSeconds ?? opts.config.segmentSeconds) * 1000;
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      const rel = path.relative(root, f.path);
      if (now - f.mtimeMs < 15_000) {
        res.skippedLive++;
        continue;
      }
      if (!opts.rebuild && (await opts.index.get(cameraId, rel))) {
        res.known++;
        continue;
      }
      // Duration estimate: up to the next segment's start, else up to the last write.
      const next = files[i + 1];
      const byNext = next ? next.start.getTime() - f.start.getTime() : Infinity;
      const byMtime = f.mtimeMs - f.start.getTime();
      const durationMs = Math.max(0, Math.min(byNext <= 2 * segLen + 5000 ? byNext : Infinity, byMtime));
      const c = await opts.segments.found({ cameraId, file: rel, host: opts.host, durationMs });
      res.indexed++;
      if (!isPlayable(c.kind)) res.broken++;
    }
  }
  return res;
}
