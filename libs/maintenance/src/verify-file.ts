import { stat } from 'node:fs/promises';
import path from 'node:path';
import { classifyMp4, type Mp4Classification } from '@tapo/mp4';
import type { SegmentIndex, SegmentStatus } from '@tapo/segment-index';
import { parseSegmentFileName } from '@tapo/storage';

/** Kinds of file that play as they are. */
export function isPlayable(kind: Mp4Classification['kind']): boolean {
  return kind === 'clean' || kind === 'fragmented-clean';
}

/**
 * Verifies one segment (our own box walk: fast) and indexes it. Returns the
 * classification; files that do not play as they are get status "pending"
 * (a verify/repair job decides what happens to them).
 */
export async function verifyAndIndex(opts: {
  index: SegmentIndex;
  recordingsDir: string;
  cameraId: string;
  /** Relative to recordingsDir. */
  file: string;
  host: string;
  durationMs?: number;
  status?: SegmentStatus;
}): Promise<Mp4Classification> {
  const abs = path.join(opts.recordingsDir, opts.file);
  const c = await classifyMp4(abs);
  const parsed = parseSegmentFileName(path.basename(opts.file));
  let bytes = c.fileBytes;
  if (!bytes) {
    try {
      bytes = (await stat(abs)).size;
    } catch {
      bytes = 0;
    }
  }
  await opts.index.upsert({
    cameraId: opts.cameraId,
    file: opts.file,
    startMs: parsed?.start.getTime() ?? 0,
    durationMs: opts.durationMs ?? 0,
    bytes,
    status: opts.status ?? (isPlayable(c.kind) ? 'ok' : 'pending'),
    host: opts.host,
  });
  return c;
}
