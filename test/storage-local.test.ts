// Issue #4: per-host local disks (storage: local). File jobs carry the host
// and go to that host's queues (repair-<host>, maintenance-<host>); each host
// keeps its own prune schedule and prunes only what it wrote.
import { mkdirSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { fileQueueName } from '@tapo/queues';
import { SegmentIndex } from '@tapo/segment-index';
import { segmentPath } from '@tapo/storage';
import { REDIS_URL, deletePrefix, tempDir, uniquePrefix, waitFor } from './helpers/env.js';
import { startApp } from './helpers/processes.js';

describe('storage: local (per-host disks)', () => {
  const tmp = tempDir('local');
  const prefix = uniquePrefix('local');
  const redis = new Redis(REDIS_URL);
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await redis.quit();
    tmp.cleanup();
  });

  it("each host's worker runs its own prune schedule, on its own files only", async () => {
    const host = os.hostname();
    const root = path.join(tmp.dir, 'recordings');
    const index = new SegmentIndex(redis, prefix);
    const old = Date.now() - 5 * 86_400_000;
    const mine = segmentPath(root, 'cam1', new Date(old));
    const theirs = segmentPath(root, 'cam1', new Date(old + 60_000));
    for (const [f, h] of [[mine, host], [theirs, 'other-host']] as const) {
      mkdirSync(path.dirname(f), { recursive: true });
      writeFileSync(f, 'x');
      utimesSync(f, old / 1000, old / 1000);
      await index.upsert({ cameraId: 'cam1', file: path.relative(root, f), startMs: old, durationMs: 60_000, bytes: 1, status: 'ok', host: h });
    }
    const cfg = path.join(tmp.dir, 'cameras.yml');
    writeFileSync(cfg, `recordingsDir: ${root}\nstorage: local\nretention: { maxAge: 1d }\nminFreeDisk: 0\npruneEverySeconds: 5\ncameras: []\n`);
    const worker = startApp('worker', { REDIS_URL, RECORDER_QUEUE_PREFIX: prefix, RECORDER_CONFIG: cfg });
    const maint = new Queue(fileQueueName('maintenance', 'local', host), { connection: redis, prefix });
    try {
      await waitFor('my old segment pruned', () => !existsSync(mine), 30_000, 250);
      expect(existsSync(theirs)).toBe(true); // another host's file is not this host's to prune
      expect(maint.name).toBe(`maintenance-${host.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
      expect((await maint.getJobSchedulers()).map((s) => s.key)).toContain('prune-every');
      // Nothing went to the shared queue.
      const shared = new Queue('maintenance', { connection: redis, prefix });
      expect(await shared.getJobSchedulers()).toEqual([]);
      await shared.close();
    } finally {
      await maint.close();
      await worker.stop();
    }
  }, 60_000);
});
