// Issue #2: exactly one record job per enabled camera, idempotent across
// scheduler restarts and two schedulers at once; a disabled camera's
// recording stops, and starts again when it is re-enabled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from './helpers/env.js';
import { alive } from './helpers/procs.js';
import { TestStack } from './helpers/stack.js';

describe('scheduler: one record job per camera', () => {
  const stack = new TestStack('sched');

  beforeAll(async () => {
    await stack.startCamera();
    stack.writeConfig([{ id: 'cam-a' }, { id: 'cam-b' }]);
  });

  afterAll(async () => {
    await stack.stopApps().catch(() => {});
    await stack.cleanup();
  });

  it('two schedulers started at once create one job per camera, and restarts add none', async () => {
    const s1 = await stack.start('scheduler');
    const s2 = await stack.start('scheduler');
    await Promise.all([s1.waitForOutput(/scheduler ready/), s2.waitForOutput(/scheduler ready/)]);
    await sleep(6000); // a few reconcile rounds each
    const jobs = await stack.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed']);
    expect(jobs.map((j) => j.id).sort()).toEqual(['record-cam-a', 'record-cam-b']);
    expect(jobs.every((j) => !JSON.stringify(j.data).includes('rtsp'))).toBe(true);
    await s1.stop();
    const s3 = await stack.start('scheduler');
    await s3.waitForOutput(/scheduler ready/);
    const counts = await stack.queue.getJobCounts();
    expect((counts.waiting ?? 0) + (counts.active ?? 0)).toBe(2);
  }, 60_000);

  it('a record job that disappears or fails for good is re-created (once)', async () => {
    const job = await stack.queue.getJob('record-cam-a');
    await job!.remove();
    const t0 = Date.now();
    await waitFor('record-cam-a re-created', async () => !!(await stack.queue.getJob('record-cam-a')), 20_000, 200);
    console.log(`[measure] removed record job re-created after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // A job that failed for good (here: moved to failed by hand) is replaced too.
    const again = (await stack.queue.getJob('record-cam-a'))!;
    await stack.redis.lrem(`${stack.prefix}:record:wait`, 0, 'record-cam-a');
    await stack.redis.zadd(`${stack.prefix}:record:failed`, Date.now(), 'record-cam-a');
    expect(await again.getState()).toBe('failed');
    await waitFor('record-cam-a waiting again', async () => (await (await stack.queue.getJob('record-cam-a'))?.getState()) === 'waiting', 20_000, 200);
    const jobs = await stack.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed']);
    expect(jobs.map((j) => j.id).sort()).toEqual(['record-cam-a', 'record-cam-b']);
  }, 60_000);

  it('disabling a camera stops its recording; enabling it starts it again; others are untouched', async () => {
    await stack.start('worker');
    const [a, b] = await waitFor('both cameras recording', async () => {
      const pa = await stack.progress('cam-a');
      const pb = await stack.progress('cam-b');
      return pa?.state === 'recording' && pb?.state === 'recording' ? [pa, pb] : undefined;
    }, 40_000);
    const content = stack.configFileContent();
    stack.rewriteConfig(content.replace(/(  - id: cam-b\n)/, '$1    enabled: false\n'));
    const t0 = Date.now();
    await waitFor('cam-b job gone', async () => !(await stack.queue.getJob('record-cam-b')), 30_000);
    console.log(`[measure] disabled camera stopped ${((Date.now() - t0) / 1000).toFixed(1)} s after the config edit`);
    await waitFor('cam-b ffmpeg exited', () => !alive(b.ffmpegPid!), 10_000);
    const pa = await stack.progress('cam-a');
    expect(pa?.state).toBe('recording');
    expect(pa?.ffmpegPid).toBe(a.ffmpegPid);

    stack.rewriteConfig(content);
    const again = await waitFor('cam-b recording again', async () => {
      const p = await stack.progress('cam-b');
      return p?.state === 'recording' ? p : undefined;
    }, 40_000);
    expect(again.ffmpegPid).not.toBe(b.ffmpegPid);
    expect((await stack.progress('cam-a'))?.ffmpegPid).toBe(a.ffmpegPid);
  }, 120_000);
});
