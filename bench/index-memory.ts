// Redis memory per indexed segment, and the 24 h extrapolation.
import { Redis } from 'ioredis';
import { SegmentIndex } from '@tapo/segment-index';

export async function measureIndexMemory(redisUrl: string, segments = 20_000): Promise<{ bytesPerSegment: number; perCameraPerDayMb60s: number }> {
  const redis = new Redis(redisUrl);
  const prefix = `bench-index-${process.pid}`;
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
  try {
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
    return { bytesPerSegment: per, perCameraPerDayMb60s: (per * 1440) / 1e6 };
  } finally {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
}
