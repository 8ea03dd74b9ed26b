// Issue #3, fault test 6: Redis (with AOF, on its own port) stopped for 60 s
// and restarted. ffmpeg keeps writing the whole time with no gap; workers
// reconnect, heartbeats resume, exactly one ffmpeg per camera; no job lost.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tapo/log';
import { startEmbeddedRedis, type EmbeddedRedis } from '@tapo/runtime';
import { freePort } from '@tapo/sim-camera';
import { listSegmentFiles } from '@tapo/storage';
import { sleep, tempDir, waitFor } from './helpers/env.js';
import { ffprobe } from './helpers/ffprobe.js';
import { ffmpegsByCamera, watchFfmpegCount } from './helpers/procs.js';
import { TestStack } from './helpers/stack.js';

const OUTAGE_MS = Number(process.env.REDIS_OUTAGE_SECONDS ?? 60) * 1000;
const CAMS = ['cam1', 'cam2'];
const quiet = createLogger({ name: 'test-redis', pretty: false, level: 'silent' });

describe('Redis outage', () => {
  const tmp = tempDir('redis-outage');
  let redis: EmbeddedRedis | undefined;
  let stack: TestStack | undefined;

  afterAll(async () => {
    await stack?.stopApps().catch(() => {});
    await stack?.cleanup();
    await redis?.stop();
    tmp.cleanup();
  });

  it(`Redis down ${OUTAGE_MS / 1000} s: recording goes on without a gap, workers reconnect, one ffmpeg per camera, no job lost`, async () => {
    const port = await freePort();
    const dataDir = path.join(tmp.dir, 'redis');
    redis = await startEmbeddedRedis({ dataDir, port, logger: quiet });
    stack = new TestStack('redis-outage', { redisUrl: redis.url });
    await stack.startCamera();
    stack.writeConfig(CAMS.map((id) => ({ id, segmentSeconds: 4 })));
    await stack.start('scheduler');
    await stack.start('worker');
    await stack.start('worker');
    const before = await waitFor('cameras recording', async () => {
      const ps = await Promise.all(CAMS.map((id) => stack!.progress(id)));
      return ps.every((p) => p?.state === 'recording') ? ps : undefined;
    }, 60_000, 200);
    const watch = watchFfmpegCount(stack.recordingsDir, 50);

    const downAt = Date.now();
    await redis.stop();
    await sleep(OUTAGE_MS);
    const segsDuring = await Promise.all(CAMS.map((id) => listSegmentFiles(stack!.recordingsDir, id)));
    redis = await startEmbeddedRedis({ dataDir, port, logger: quiet });
    const upAt = Date.now();

    const after = await waitFor('heartbeats again', async () => {
      const ps = await Promise.all(CAMS.map((id) => stack!.progress(id)));
      return ps.every((p) => p?.state === 'recording' && Date.parse(p.updatedAt) > upAt) ? ps : undefined;
    }, 60_000, 200);
    const resumed = (Date.now() - upAt) / 1000;
    await sleep(10_000); // let any double ownership show itself
    const seen = watch.stop();

    // Files: every camera kept closing segments during the outage, with no gap.
    const gaps: number[] = [];
    for (const [i, id] of CAMS.entries()) {
      const during = segsDuring[i]!.filter((s) => s.mtimeMs > downAt + 2000);
      expect(during.length, `${id} segments closed while Redis was down`).toBeGreaterThanOrEqual(Math.floor(OUTAGE_MS / 4000) - 3);
      const segs = (await listSegmentFiles(stack.recordingsDir, id)).filter((s) => s.mtimeMs > downAt - 10_000);
      for (let k = 1; k < segs.length - 1; k++) {
        const prev = segs[k - 1]!;
        const cur = segs[k]!;
        // A segment closes (mtime) when the next one opens: the next segment's
        // last write minus its own length is its start.
        const dur = (await ffprobe(cur.path)).videoSeconds;
        gaps.push((cur.mtimeMs - dur * 1000 - prev.mtimeMs) / 1000);
      }
    }
    const maxGap = Math.max(...gaps);
    const restartsAfter = after.map((p, i) => `${CAMS[i]}: ffmpeg ${p!.ffmpegPid === before[i]!.ffmpegPid ? 'same' : 'restarted'}`);
    console.log(`[measure] Redis down ${OUTAGE_MS / 1000} s: heartbeats back ${resumed.toFixed(1)} s after Redis; largest gap between segments across the outage ${maxGap.toFixed(2)} s; ${restartsAfter.join(', ')}; max ffmpegs per camera ${seen.max}`);
    expect(seen.worst).toEqual([]);
    expect(seen.max).toBe(1);
    // The job locks outlive the outage: the same ffmpegs go on, no gap.
    expect(maxGap).toBeLessThan(1);
    after.forEach((p, i) => expect(p!.ffmpegPid, CAMS[i]).toBe(before[i]!.ffmpegPid));
    // No job lost: one active record job per camera.
    const jobs = await stack.queue.getJobs(['active']);
    expect(jobs.map((j) => j.id).sort()).toEqual(CAMS.map((id) => `record-${id}`));
    expect([...ffmpegsByCamera(stack.recordingsDir).values()].map((v) => v.length)).toEqual([1, 1]);
  }, OUTAGE_MS + 180_000);
});

describe('Redis that may evict keys', () => {
  it('a worker warns loudly when maxmemory-policy is not noeviction', async () => {
    const tmp = tempDir('evict');
    const port = await freePort();
    const r = await startEmbeddedRedis({ dataDir: tmp.dir, port, logger: quiet });
    const stack = new TestStack('evict', { redisUrl: r.url });
    try {
      await stack.redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await stack.startCamera();
      stack.writeConfig([{ id: 'cam1' }]);
      const w = await stack.start('worker');
      await w.waitForOutput(/worker .* ready/, 30_000);
      expect(w.output()).toMatch(/!!! Redis maxmemory-policy is \\?"allkeys-lru\\?".*noeviction/);
    } finally {
      await stack.stopApps().catch(() => {});
      await stack.cleanup();
      await r.stop();
      tmp.cleanup();
    }
  }, 60_000);
});
