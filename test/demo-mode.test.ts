// Issue #2: `npm start` with no cameras file records the simulated camera and
// says so in its first lines; the embedded redis-server starts with AOF and
// noeviction and stops on exit.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@tapo/log';
import { startEmbeddedRedis } from '@tapo/runtime';
import { freePort } from '@tapo/sim-camera';
import { listSegmentFiles } from '@tapo/storage';
import { REDIS_URL, deletePrefix, tempDir, uniquePrefix, waitFor } from './helpers/env.js';
import { startApp } from './helpers/processes.js';

describe('npm start on defaults (demo mode)', () => {
  const tmp = tempDir('demo');
  const prefix = uniquePrefix('demo');
  const redis = new Redis(REDIS_URL);

  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await redis.quit();
    tmp.cleanup();
  });

  it('records the simulated camera, shows it on the board, stops cleanly', async () => {
    const port = await freePort();
    const app = startApp('all-in-one', { REDIS_URL, RECORDER_QUEUE_PREFIX: prefix, BOARD_PORT: String(port), RECORDER_CONFIG: '' }, [], { cwd: tmp.dir });
    try {
      await app.waitForOutput(/DEMO MODE, recording a SIMULATED camera/, 30_000);
      const firstLines = app.output().split('\n').slice(0, 3).join('\n');
      expect(firstLines).toMatch(/DEMO MODE/);
      await waitFor('a closed demo segment', async () => (await listSegmentFiles(path.join(tmp.dir, 'recordings'), 'sim-camera')).length >= 2, 60_000, 500);
      const r = await fetch(`http://127.0.0.1:${port}/api/cameras`);
      const body = (await r.json()) as { cameras: Array<{ id: string; state: string }> };
      expect(body.cameras).toEqual([expect.objectContaining({ id: 'sim-camera', state: 'recording' })]);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(await page.text()).toContain('sim-camera');
    } finally {
      const exit = await app.stop('SIGTERM');
      expect(exit.code, app.output().slice(-2000)).toBe(0);
    }
    // The simulated camera's password was random and never printed.
    expect(app.output()).toMatch(/rtsp:\/\/\*\*\*@127\.0\.0\.1:\d+\/stream1/);
    expect(app.output()).not.toMatch(/rtsp:\/\/demo:/);
  }, 120_000);

  it('the embedded redis-server runs with AOF and noeviction, and stops', async () => {
    const port = await freePort();
    const dataDir = path.join(tmp.dir, 'redis');
    const embedded = await startEmbeddedRedis({ dataDir, port, logger: createLogger({ name: 't', pretty: false, level: 'silent' }) });
    const r = new Redis(embedded.url);
    try {
      expect(await r.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await r.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      await r.set('k', 'v');
    } finally {
      r.disconnect();
      await embedded.stop();
    }
    expect(existsSync(path.join(dataDir, 'appendonlydir')) || existsSync(path.join(dataDir, 'appendonly.aof'))).toBe(true);
    expect(() => process.kill(embedded.pid!, 0)).toThrow();
  }, 30_000);
});
