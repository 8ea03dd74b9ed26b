// Issue #4: the ring buffer. Age, size and free-disk limits each hold after a
// prune; the live segment survives; nothing outside recordingsDir is touched
// (symlinks included); emptied day folders go; `recorder prune --dry-run`
// deletes nothing; the prune job runs from a BullMQ Job Scheduler.
import { existsSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig, type RecorderConfig } from '@tapo/config';
import { runPrune } from '@tapo/maintenance';
import { readCounters } from '@tapo/queues';
import { SegmentIndex } from '@tapo/segment-index';
import { segmentPath } from '@tapo/storage';
import { REDIS_URL, deletePrefix, tempDir, uniquePrefix, waitFor } from './helpers/env.js';
import { startApp } from './helpers/processes.js';

const MB = 1_000_000;
const HOUR = 3_600_000;

describe('retention', () => {
  const tmp = tempDir('retention');
  const redis = new Redis(REDIS_URL);
  let prefix = '';
  let root = '';
  let index: SegmentIndex;
  const now = Date.now();

  beforeEach(async () => {
    prefix = uniquePrefix('retention');
    root = path.join(tmp.dir, prefix, 'recordings');
    mkdirSync(root, { recursive: true });
    index = new SegmentIndex(redis, prefix);
  });
  afterAll(async () => {
    for (const k of await redis.keys('test-retention-*')) await redis.del(k);
    await redis.quit();
    tmp.cleanup();
  });

  function config(yaml: string): RecorderConfig {
    return parseConfig(`recordingsDir: ${root}\n${yaml}`, path.join(root, '..', 'cameras.yml'), {});
  }

  /** n one-minute segments of `bytes` each, the newest ending `endAgoMs` ago. */
  async function addSegments(cameraId: string, n: number, bytes: number, endAgoMs = 0): Promise<string[]> {
    const files: string[] = [];
    for (let i = 0; i < n; i++) {
      const start = new Date(now - endAgoMs - (n - i) * 60_000);
      const abs = segmentPath(root, cameraId, start);
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, Buffer.alloc(bytes, 1));
      const old = (start.getTime() + 60_000) / 1000;
      utimesSync(abs, old, old);
      const rel = path.relative(root, abs);
      await index.upsert({ cameraId, file: rel, startMs: start.getTime(), durationMs: 60_000, bytes, status: 'ok', host: 'test' });
      files.push(rel);
    }
    return files;
  }

  it('maxAge: segments that ended before the limit go, oldest first; emptied day folders are removed', async () => {
    const old = await addSegments('cam1', 5, 1000, 3 * 24 * HOUR); // three days ago
    const recent = await addSegments('cam1', 5, 1000);
    const res = await runPrune({ config: config('retention: { maxAge: 2d }\nminFreeDisk: 0\ncameras: []\n'), index, now });
    expect(res.deleted).toBe(5);
    expect(res.byReason).toEqual({ age: 5 });
    for (const f of old) expect(existsSync(path.join(root, f))).toBe(false);
    for (const f of recent) expect(existsSync(path.join(root, f))).toBe(true);
    expect(existsSync(path.join(root, path.dirname(old[0]!)))).toBe(false);
    expect((await index.stats('cam1')).count).toBe(5);
  });

  it('maxSize per camera, with a camera override', async () => {
    await addSegments('a', 10, 100_000);
    await addSegments('b', 10, 100_000);
    const cfg = config(`retention: { maxSize: 500000 }\nminFreeDisk: 0\ncameras:\n  - id: a\n    url: rtsp://h/1\n  - id: b\n    url: rtsp://h/2\n    retention: { maxSize: 800000 }\n`);
    const res = await runPrune({ config: cfg, index, now });
    expect(res.cameras).toEqual([
      expect.objectContaining({ cameraId: 'a', deleted: 5, keptCount: 5 }),
      expect.objectContaining({ cameraId: 'b', deleted: 2, keptCount: 8 }),
    ]);
    expect((await index.stats('a')).bytes).toBe(500_000);
    expect((await index.stats('b')).bytes).toBe(800_000);
  });

  it('minFreeDisk: deletes oldest first until the floor holds', async () => {
    await addSegments('cam1', 8, 5 * MB);
    const s = await statfs(root);
    const free = s.bavail * s.bsize;
    // A floor 12 MB above what is free now: three or four 5 MB segments must go.
    const res = await runPrune({ config: config(`minFreeDisk: ${free + 12 * MB}\ncameras: []\n`), index, now });
    expect(res.byReason.disk).toBeGreaterThanOrEqual(3);
    expect(res.byReason.disk).toBeLessThanOrEqual(5);
    const s2 = await statfs(root);
    console.log(`[measure] free-disk prune: deleted ${res.deleted} × 5 MB; free before ${(free / MB).toFixed(0)} MB, after ${((s2.bavail * s2.bsize) / MB).toFixed(0)} MB, floor ${((free + 12 * MB) / MB).toFixed(0)} MB`);
  });

  it('never deletes the live segment, nor anything outside recordingsDir (symlinks included)', async () => {
    const outside = path.join(tmp.dir, `${prefix}-outside`);
    mkdirSync(outside, { recursive: true });
    writeFileSync(path.join(outside, 'precious.mp4'), 'precious');
    const files = await addSegments('cam1', 3, 1000, 10 * 24 * HOUR);
    // 1) a segment file that is a symlink to a file outside
    const linkFile = files[0]!;
    const abs = path.join(root, linkFile);
    (await import('node:fs')).rmSync(abs);
    symlinkSync(path.join(outside, 'precious.mp4'), abs);
    // 2) a whole day folder that is a symlink to a folder outside
    const day = path.join(root, 'cam2', '2020-01-01');
    mkdirSync(path.dirname(day), { recursive: true });
    symlinkSync(outside, day);
    writeFileSync(path.join(outside, 'cam2-20200101T000000Z.mp4'), 'also precious');
    await index.upsert({ cameraId: 'cam2', file: 'cam2/2020-01-01/cam2-20200101T000000Z.mp4', startMs: Date.UTC(2020, 0, 1), durationMs: 60_000, bytes: 13, status: 'ok', host: 't' });
    // 3) the live segment: indexed by mistake, but written just now
    const liveStart = new Date(now - 20 * 24 * HOUR);
    const live = segmentPath(root, 'cam3', liveStart);
    mkdirSync(path.dirname(live), { recursive: true });
    writeFileSync(live, 'being written');
    await index.upsert({ cameraId: 'cam3', file: path.relative(root, live), startMs: liveStart.getTime(), durationMs: 60_000, bytes: 13, status: 'ok', host: 't' });
    // 4) an index entry that tries to climb out
    await index.upsert({ cameraId: 'cam1', file: '../../escape.mp4', startMs: 0, durationMs: 1, bytes: 1, status: 'ok', host: 't' });

    const res = await runPrune({ config: config('retention: { maxAge: 1d }\nminFreeDisk: 0\ncameras: []\n'), index });
    expect(readdirSync(outside).sort()).toEqual(['cam2-20200101T000000Z.mp4', 'precious.mp4']);
    expect(existsSync(live)).toBe(true);
    const why = Object.fromEntries(res.skipped.map((s) => [s.file, s.why]));
    expect(why[linkFile]).toBe('is a symlink');
    expect(why['cam2/2020-01-01/cam2-20200101T000000Z.mp4']).toMatch(/resolves outside recordingsDir/);
    expect(why[path.relative(root, live)]).toMatch(/written in the last seconds/);
    expect(why['../../escape.mp4']).toBe('outside recordingsDir');
    expect(res.deleted).toBe(2); // the two regular old segments of cam1
  });

  it('prunes 100 000 indexed segments (timing printed; the benchmark holds the target)', async () => {
    const cam = 'bulk';
    const pipeline = redis.pipeline();
    // Index entries only (files do not exist: the executor just forgets them).
    const start0 = now - 200_000 * 1000;
    const members: Array<string | number> = [];
    const infos: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const f = `bulk/1970-01-01/bulk-${i}.mp4`;
      members.push(start0 + i * 1000, f);
      infos.push(f, `1000|1000|ok|t`);
    }
    for (let i = 0; i < members.length; i += 20_000) pipeline.zadd(`${prefix}:seg:${cam}`, ...(members.slice(i, i + 20_000) as [number, string]));
    for (let i = 0; i < infos.length; i += 20_000) pipeline.hset(`${prefix}:seginfo:${cam}`, ...infos.slice(i, i + 20_000));
    pipeline.hset(`${prefix}:segstats`, `${cam}:bytes`, 100_000_000, `${cam}:count`, 100_000);
    pipeline.sadd(`${prefix}:seg-cameras`, cam);
    await pipeline.exec();
    const t = performance.now();
    const res = await runPrune({ config: config('retention: { maxAge: 1h }\nminFreeDisk: 0\ncameras: []\n'), index, now });
    const ms = performance.now() - t;
    console.log(`[measure] prune of 100000 indexed segments: ${ms.toFixed(0)} ms (${res.byReason.age ?? 0} past maxAge)`);
    expect((await index.stats(cam)).count).toBe(100_000 - (res.byReason.age ?? 0));
  }, 60_000);

  it('steady state: with nothing to delete, a prune reads one small page of a big index, not all of it', async () => {
    const cam = 'steady';
    const members: Array<string | number> = [];
    const infos: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      const f = `steady/2026-01-01/steady-${i}.mp4`;
      members.push(now - 50_000 * 1000 + i * 1000, f);
      infos.push(f, '1000|1000|ok|t');
    }
    const pipeline = redis.pipeline();
    for (let i = 0; i < members.length; i += 20_000) pipeline.zadd(`${prefix}:seg:${cam}`, ...(members.slice(i, i + 20_000) as [number, string]));
    for (let i = 0; i < infos.length; i += 20_000) pipeline.hset(`${prefix}:seginfo:${cam}`, ...infos.slice(i, i + 20_000));
    pipeline.hset(`${prefix}:segstats`, `${cam}:bytes`, 50_000_000, `${cam}:count`, 50_000);
    pipeline.sadd(`${prefix}:seg-cameras`, cam);
    await pipeline.exec();
    let read = 0;
    const counting = Object.create(index) as typeof index;
    counting.oldest = async (c: string, n: number, offset?: number) => {
      const r = await index.oldest(c, n, offset);
      if (c === cam) read += r.length;
      return r;
    };
    const t = performance.now();
    const res = await runPrune({ config: config('retention: { maxAge: 30d, maxSize: 1GB }\nminFreeDisk: 0\ncameras: []\n'), index: counting, now });
    console.log(`[measure] prune with nothing to delete over 50000 indexed segments: ${(performance.now() - t).toFixed(0)} ms, ${read} index records read`);
    expect(res.deleted).toBe(0);
    expect(res.cameras.find((c) => c.cameraId === cam)).toMatchObject({ deleted: 0, keptCount: 50_000 });
    expect(read).toBeLessThanOrEqual(64);
    await index.clear(cam);
  }, 60_000);

  it('`recorder prune --dry-run` lists what would go and deletes nothing', async () => {
    const files = await addSegments('cam1', 4, 1000, 5 * 24 * HOUR);
    const cfgFile = path.join(tmp.dir, `${prefix}.yml`);
    writeFileSync(cfgFile, `recordingsDir: ${root}\nretention: { maxAge: 1d }\nminFreeDisk: 0\ncameras: []\n`);
    const p = startApp('cli', { REDIS_URL, RECORDER_QUEUE_PREFIX: prefix }, ['prune', '--dry-run', '--config', cfgFile]);
    const exit = await p.exited;
    expect(exit.code, p.output()).toBe(0);
    for (const f of files) expect(p.output()).toContain(`would delete ${f} (age`);
    expect(p.output()).toMatch(/dry run: 4 segment\(s\).*nothing was deleted/);
    for (const f of files) expect(existsSync(path.join(root, f))).toBe(true);
  }, 30_000);

  it('the scheduler keeps a prune Job Scheduler; the worker runs it and returns what it deleted', async () => {
    const files = await addSegments('cam1', 3, 1000, 5 * 24 * HOUR);
    const cfgFile = path.join(tmp.dir, `${prefix}-sched.yml`);
    writeFileSync(cfgFile, `recordingsDir: ${root}\nretention: { maxAge: 1d }\nminFreeDisk: 0\npruneEverySeconds: 5\ncameras:\n  - id: cam1\n    url: rtsp://127.0.0.1:1/none\n    enabled: false\n`);
    const env = { REDIS_URL, RECORDER_QUEUE_PREFIX: prefix, RECORDER_CONFIG: cfgFile };
    const sched = startApp('scheduler', env);
    const worker = startApp('worker', env);
    const q = new Queue('maintenance', { connection: redis, prefix });
    try {
      await waitFor('files pruned', () => files.every((f) => !existsSync(path.join(root, f))), 40_000, 500);
      const schedulers = await q.getJobSchedulers();
      expect(schedulers.map((s) => s.key)).toContain('prune-every');
      const done = await q.getJobs(['completed']);
      const prune = done.find((j) => j.name === 'prune' && (j.returnvalue as { deleted?: number })?.deleted === 3);
      expect(prune?.returnvalue).toMatchObject({ deleted: 3, byReason: { age: 3 }, cameras: [expect.objectContaining({ cameraId: 'cam1' })] });
      // Counted for /metrics.
      expect(await readCounters(redis, prefix)).toMatchObject({ 'prune:deleted': 3, 'prune:bytes': 3000 });
    } finally {
      await q.close();
      await worker.stop();
      await sched.stop();
      await deletePrefix(redis, prefix);
    }
  }, 90_000);
});
