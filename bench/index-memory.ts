// Redis memory per indexed segment, and the 24 h extrapolation (per camera,
// 60 s and 10 s segments; 8 and 32 cameras).
import { Redis } from 'ioredis';
import { SegmentIndex } from '@tapo/segment-index';
import { withCleanup } from './children.js';
import { deletePrefix } from './cost.js';
import { row, type Row } from './table.js';

export interface IndexMemory {
  segments: number;
  bytesPerSegment: number;
  perCameraPerDayMb60s: number;
}

export async function measureIndexMemory(redisUrl: string, segments = 20_000, run = 0): Promise<IndexMemory> {
  const redis = new Redis(redisUrl);
  const prefix = `bench-index-${process.pid}-${run}`;
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
  const cleanup = async () => {
    await deletePrefix(redis, prefix).catch(() => {});
    redis.disconnect();
  };
  return withCleanup(cleanup, async () => {
    const index = new SegmentIndex(redis, prefix);
    const m0 = await used();
    const t0 = Date.UTC(2026, 0, 1);
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < segments; i++) {
      const start = new Date(t0 + i * 60_000);
      const day = start.toISOString().slice(0, 10);
      const stamp = start.toISOString().replace(/[-:]/g, '').slice(0, 15);
      batch.push(index.upsert({ cameraId: 'living-room', file: `living-room/${day}/living-room-${stamp}Z.mp4`, startMs: start.getTime(), durationMs: 60_000, bytes: 15_000_000, status: 'ok', host: 'recorder-box' }));
      if (batch.length >= 500) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    const per = ((await used()) - m0) / segments;
    return { segments, bytesPerSegment: per, perCameraPerDayMb60s: (per * 1440) / 1e6 };
  });
}

/** 24 h of index per camera count and segment length, from the measured bytes per segment. */
export function indexMemoryRows(runs: IndexMemory[]): Row[] {
  const per = runs.map((r) => r.bytesPerSegment);
  const how = `SegmentIndex.upsert of ${runs[0]?.segments ?? 0} segments, INFO memory used_memory before/after (shared Redis: other clients add noise)`;
  const rows = [row('Redis index: bytes per segment', per, { unit: 'B', digits: 0, how })];
  for (const cams of [1, 8, 32]) {
    for (const seg of [60, 10]) {
      const perDay = 86_400 / seg;
      rows.push(
        row(`Redis index after 24 h: ${cams} camera${cams > 1 ? 's' : ''}, ${seg} s segments`, per.map((b) => (b * perDay * cams) / 1e6), {
          unit: 'MB',
          digits: cams === 1 ? 2 : 1,
          how: `bytes per segment × ${perDay} segments/day × ${cams}`,
        }),
      );
    }
  }
  return rows;
}
