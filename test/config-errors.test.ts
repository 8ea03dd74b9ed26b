// Issue #2: bad input. Each app prints one clear error naming the file, the
// camera and the field, exits non-zero, and starts nothing (no job is created).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL, deletePrefix, scanKeys, tempDir, uniquePrefix } from './helpers/env.js';
import { startApp } from './helpers/processes.js';

const cases: Array<{ name: string; yaml: string; env?: Record<string, string>; expect: RegExp }> = [
  { name: 'invalid YAML', yaml: 'cameras:\n  - id: a\n   url: [\n', expect: /invalid YAML/ },
  { name: 'unknown key', yaml: 'cameras:\n  - id: cam1\n    url: rtsp://h/s\n    fps: 15\n', expect: /camera "cam1" \(cameras\[0\]\), field "fps": unknown key "fps"/ },
  { name: 'duplicate id', yaml: 'cameras:\n  - id: cam1\n    url: rtsp://h/1\n  - id: cam1\n    url: rtsp://h/2\n', expect: /camera "cam1" \(cameras\[1\]\), field "id": duplicate camera id/ },
  { name: 'id with ..', yaml: 'cameras:\n  - id: ../../etc\n    url: rtsp://h/1\n', expect: /camera "\.\.\/\.\.\/etc" \(cameras\[0\]\), field "id": must be 1-64 characters/ },
  { name: 'id with /', yaml: 'cameras:\n  - id: a/b\n    url: rtsp://h/1\n', expect: /field "id"/ },
  { name: 'not rtsp', yaml: 'cameras:\n  - id: cam1\n    url: http://192.168.1.20/stream1\n', expect: /camera "cam1" \(cameras\[0\]\), field "url": must be an rtsp:\/\/ \(or rtsps:\/\/\) URL/ },
  { name: 'missing variable', yaml: 'cameras:\n  - id: cam1\n    url: rtsp://admin:${NOT_SET_PASSWORD_X}@h/1\n', expect: /camera "cam1" \(cameras\[0\]\), field "url": environment variable \$\{NOT_SET_PASSWORD_X\} is not set/ },
];

describe('bad config: clear error, non-zero exit, nothing started', () => {
  const tmp = tempDir('badcfg');
  const prefix = uniquePrefix('badcfg');
  const redis = new Redis(REDIS_URL);

  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await redis.quit();
    tmp.cleanup();
  });

  for (const c of cases) {
    it(`${c.name}`, async () => {
      const file = path.join(tmp.dir, `${c.name.replace(/\W+/g, '-')}.yml`);
      writeFileSync(file, c.yaml);
      for (const app of ['scheduler', 'worker'] as const) {
        const p = startApp(app, { REDIS_URL, RECORDER_QUEUE_PREFIX: prefix }, ['--config', file]);
        const exit = await p.exited;
        expect(exit.code, p.output()).toBe(1);
        const out = p.output();
        expect(out).toContain(file);
        expect(out).toMatch(c.expect);
        expect(out.trim().split('\n').length, out).toBeLessThanOrEqual(3);
      }
      expect(await scanKeys(redis, prefix)).toEqual([]);
    }, 60_000);
  }

  it('a missing config file named by --config is an error', async () => {
    const p = startApp('scheduler', { REDIS_URL, RECORDER_QUEUE_PREFIX: prefix }, ['--config', path.join(tmp.dir, 'nope.yml')]);
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toMatch(/nope\.yml: config file not found/);
  }, 30_000);

  it('the error never prints the password of another camera', async () => {
    const file = path.join(tmp.dir, 'pw.yml');
    writeFileSync(file, 'cameras:\n  - id: ok\n    url: rtsp://admin:Sup3rSecret@h/1\n  - id: bad\n    url: ftp://admin:Sup3rSecret@h/1\n');
    const p = startApp('scheduler', { REDIS_URL, RECORDER_QUEUE_PREFIX: prefix }, ['--config', file]);
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toMatch(/camera "bad" \(cameras\[1\]\), field "url"/);
    expect(p.output()).not.toContain('Sup3rSecret');
    const q = new Queue('record', { connection: redis, prefix });
    expect(await q.getJobCounts()).toMatchObject({ waiting: 0, active: 0 });
    await q.close();
  }, 30_000);
});
