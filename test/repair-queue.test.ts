// Issue #4: the repair chain as BullMQ jobs. An interrupted fragmented segment
// goes verify → repair(trim) and ends repaired in the index; a plain MP4
// killed mid-write (no moov) with no reference yet fails, and the same job
// retried (as from Bull Board) succeeds once a good segment of the camera exists.
import { copyFileSync, mkdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCounters } from '@tapo/queues';
import { SegmentIndex } from '@tapo/segment-index';
import { segmentPath } from '@tapo/storage';
import { REDIS_URL, deletePrefix, tempDir, uniquePrefix, waitFor } from './helpers/env.js';
import { decodesCleanly } from '@tapo/maintenance';
import { makeFragmented, makeKilledPlain } from './helpers/media.js';
import { startApp, type AppProcess } from './helpers/processes.js';

describe('repair chain through the repair queue', () => {
  const tmp = tempDir('repairq');
  const prefix = uniquePrefix('repairq');
  const root = path.join(tmp.dir, 'recordings');
  const redis = new Redis(REDIS_URL);
  const repair = new Queue('repair', { connection: redis, prefix });
  const index = new SegmentIndex(redis, prefix);
  let worker: AppProcess;
  const t0 = Date.UTC(2026, 10, 20, 10, 0, 0);
  const rel = (abs: string) => path.relative(root, abs);

  beforeAll(async () => {
    mkdirSync(root, { recursive: true });
    const cfg = path.join(tmp.dir, 'cameras.yml');
    writeFileSync(cfg, `recordingsDir: ${root}\nminFreeDisk: 0\ncameras:\n  - id: cam1\n    url: rtsp://127.0.0.1:1/none\n    enabled: false\n`);
    worker = startApp('worker', { REDIS_URL, RECORDER_QUEUE_PREFIX: prefix, RECORDER_CONFIG: cfg });
    await worker.waitForOutput(/worker .* ready/, 30_000);
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await repair.close();
    await deletePrefix(redis, prefix);
    await redis.quit();
    tmp.cleanup();
  });

  async function finished(id: string): Promise<Job> {
    return waitFor(`job ${id} finished`, async () => {
      const st = await (await repair.getJob(id))?.getState();
      // Read the job again once it is finished: a copy read while it was active lacks failedReason / returnvalue.
      return st === 'completed' || st === 'failed' ? await repair.getJob(id) : undefined;
    }, 60_000, 250);
  }

  it('fragmented segment cut mid-fragment: verify → trim, replaced, indexed as repaired', async () => {
    const file = segmentPath(root, 'cam1', new Date(t0));
    mkdirSync(path.dirname(file), { recursive: true });
    await makeFragmented(file, 6);
    truncateSync(file, Math.floor(statSync(file).size * 0.63));
    await repair.add('verify', { cameraId: 'cam1', file: rel(file), host: 'test', reason: 'test: cut', reportedAt: new Date().toISOString() }, { jobId: 'verify-cut' });
    const v = await finished('verify-cut');
    expect(v.returnvalue).toMatchObject({ kind: 'fragmented-partial', action: 'repair', step: 'trim' });
    const trimJob = await waitFor('the trim job', async () => (await repair.getJobs(['completed', 'failed', 'active', 'waiting'])).find((j) => j.name === 'repair' && j.data.step === 'trim'), 30_000);
    const done = await finished(trimJob.id!);
    expect(await done.getState()).toBe('completed');
    const logs = (await repair.getJobLogs(done.id!)).logs.join('\n');
    expect(logs).toMatch(/step trim/);
    expect(logs).toMatch(/replaced the original/);
    expect((await decodesCleanly(file)).ok).toBe(true);
    expect((await index.get('cam1', rel(file)))?.status).toBe('repaired');
    const vlogs = (await repair.getJobLogs('verify-cut')).logs.join('\n');
    expect(vlogs).toMatch(/found: fragmented-partial/);
  }, 90_000);

  it('no moov and no reference: the rebuild fails; retried once a good segment exists, it succeeds', async () => {
    const broken = segmentPath(root, 'cam2', new Date(t0 + 60_000));
    mkdirSync(path.dirname(broken), { recursive: true });
    await makeKilledPlain(broken, 3000);
    await repair.add('verify', { cameraId: 'cam2', file: rel(broken), host: 'test', reason: 'test: killed', reportedAt: new Date().toISOString() }, { jobId: 'verify-killed' });
    const v = await finished('verify-killed');
    expect(v.returnvalue).toMatchObject({ kind: 'no-moov', step: 'rebuild' });
    const rebuild = await waitFor('the rebuild job', async () => (await repair.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed'])).find((j) => j.data.step === 'rebuild' && j.data.cameraId === 'cam2'), 30_000);
    // Attempts with backoff; make it fail for good fast by waiting for the first failure.
    await waitFor('rebuild failed (no reference)', async () => (await repair.getJob(rebuild.id!))?.failedReason?.includes('no reference'), 60_000, 250);
    const failedJob = (await repair.getJob(rebuild.id!))!;
    expect((await repair.getJobLogs(rebuild.id!)).logs.join('\n')).toMatch(/no reference segment for camera cam2/);
    // A good segment of the same camera appears (recorded, indexed).
    const goodAbs = segmentPath(root, 'cam2', new Date(t0));
    await makeFragmented(goodAbs, 4);
    const goodPlain = path.join(tmp.dir, 'good-plain.mp4');
    copyFileSync(goodAbs, goodPlain);
    await index.upsert({ cameraId: 'cam2', file: rel(goodAbs), startMs: t0, durationMs: 4000, bytes: statSync(goodAbs).size, status: 'ok', host: 'test' });
    // Retry, as the Bull Board button does.
    const state = await failedJob.getState();
    if (state === 'failed') await failedJob.retry('failed');
    else await failedJob.promote().catch(() => {});
    await waitFor('rebuild completed', async () => (await (await repair.getJob(rebuild.id!))?.getState()) === 'completed', 60_000, 250);
    const logs = (await repair.getJobLogs(rebuild.id!)).logs.join('\n');
    expect(logs).toMatch(/reference: cam2\//);
    expect(logs).toMatch(/rebuild done/);
    expect((await decodesCleanly(broken)).ok).toBe(true);
    expect((await index.get('cam2', rel(broken)))?.status).toBe('repaired');
    expect((await readCounters(redis, prefix))['repair:repaired']).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it('garbage ends unrecoverable with a reason; the original stays', async () => {
    const junk = segmentPath(root, 'cam1', new Date(t0 + 120_000));
    writeFileSync(junk, Buffer.from('this is not a video file at all, just text'.repeat(50)));
    await repair.add('verify', { cameraId: 'cam1', file: rel(junk), host: 'test', reason: 'test: junk', reportedAt: new Date().toISOString() }, { jobId: 'verify-junk' });
    const v = await finished('verify-junk');
    expect(v.returnvalue).toMatchObject({ kind: 'garbage', action: 'unrecoverable' });
    expect((v.returnvalue as { reason: string }).reason).toMatch(/not an MP4/);
    expect(statSync(junk).size).toBe(Buffer.byteLength("this is not a video file at all, just text") * 50);
    expect((await index.get('cam1', rel(junk)))?.status).toBe('unrecoverable');
  }, 60_000);

  it('a queued job naming a file outside recordingsDir is refused', async () => {
    await repair.add('verify', { cameraId: 'cam1', file: '../../etc/passwd', host: 'test', reason: 'evil', reportedAt: new Date().toISOString() }, { jobId: 'verify-evil', attempts: 1 });
    const v = await finished('verify-evil');
    expect(await v.getState()).toBe('failed');
    expect(v.failedReason).toMatch(/outside recordingsDir/);
  }, 30_000);
});
