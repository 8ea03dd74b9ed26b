// Alerts library against real Redis and a local HTTP receiver: delivery to
// webhook and ntfy targets, retries, the cross-process throttle and
// transitions, the camera health check, and no secrets in Redis.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecorderConfig } from '@tapo/config';
import { createLogger } from '@tapo/log';
import { createRedis, notifyJobId, type AlertEvent } from '@tapo/queues';
import {
  Alerter,
  createCameraHealthCheck,
  startCameraHealthMonitor,
  startNotifyWorker,
  type CameraProgress,
  type NotifyWorker,
} from '@tapo/alerts';
import { REDIS_URL, deletePrefix, dumpPrefix, scanKeys, sleep, waitFor } from './helpers/env.js';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

const HEADER_SECRET = 'Bearer headersecret456';
const URL_SECRET = 'urlsecret123';
const TOPIC_SECRET = 'topic-secret789';

describe('alerts library', () => {
  const prefix = `alerts-test-${process.pid}-${Date.now()}`;
  const quiet = createLogger({ name: 'alerts-test', pretty: false, level: 'silent' });
  const redisA = createRedis(REDIS_URL, { name: 'alerts-test-a' });
  const redisB = createRedis(REDIS_URL, { name: 'alerts-test-b' });
  const blocking = createRedis(REDIS_URL, { blocking: true, name: 'alerts-test-worker' });
  const received: Received[] = [];
  let flakyCalls = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const status = path === '/flaky' && ++flakyCalls <= 2 ? 500 : 200;
      received.push({ path, headers: req.headers, body, status });
      res.writeHead(status).end(status === 200 ? 'ok' : 'boom');
    });
  });
  let base = '';
  let config: RecorderConfig;
  let alerterA: Alerter;
  let alerterB: Alerter;
  let notify: NotifyWorker;
  const getConfig = () => config;
  const delivered = (path: string) => received.filter((r) => r.path === path && r.status === 200);
  const hookBodies = () => delivered('/hook').map((r) => JSON.parse(r.body) as Record<string, unknown> & { details: Record<string, unknown> });

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    config = {
      cameras: [{ id: 'cam5', enabled: true }],
      alerts: {
        offlineAfterSeconds: 30,
        minIntervalSeconds: 60,
        diskNearlyFullPercent: 95,
        targets: [
          { id: 'hook', type: 'webhook', url: `${base}/hook?token=${URL_SECRET}`, headers: { Authorization: HEADER_SECRET }, events: ['camera-offline', 'camera-back'] },
          { id: 'phone', type: 'ntfy', url: `${base}/${TOPIC_SECRET}`, headers: {}, events: ['camera-offline', 'camera-back', 'auth-failing'] },
          { id: 'flaky', type: 'webhook', url: `${base}/flaky`, headers: {}, events: ['disk-nearly-full'] },
        ],
      },
    } as unknown as RecorderConfig;
    const jobOptions = { backoff: { type: 'fixed', delay: 100 } };
    alerterA = new Alerter({ redis: redisA, prefix, getConfig, logger: quiet, jobOptions });
    alerterB = new Alerter({ redis: redisB, prefix, getConfig, logger: quiet, jobOptions });
    notify = startNotifyWorker({ blocking, redis: redisA, prefix, getConfig, logger: quiet, installName: 'test-install' });
  });

  afterAll(async () => {
    await notify?.close();
    await alerterA?.close();
    await alerterB?.close();
    await deletePrefix(redisA, prefix);
    expect(await scanKeys(redisA, prefix)).toEqual([]);
    for (const r of [redisA, redisB, blocking]) await r.quit();
    await new Promise((r) => server.close(r));
  });

  const offline = (cameraId: string, at = new Date().toISOString()): AlertEvent => ({
    type: 'camera-offline',
    cameraId,
    at,
    details: { offlineForSeconds: 30, lastVideoAt: new Date(Date.parse(at) - 30_000).toISOString(), reason: 'rtsp://admin:hunter2@10.0.0.9/stream1: Connection timed out' },
  });
  const back = (cameraId: string): AlertEvent => ({ type: 'camera-back', cameraId, at: new Date().toISOString(), details: { outageSeconds: 134 } });

  it('a webhook gets the JSON, an ntfy topic the text with Title/Priority/Tags', async () => {
    expect(await alerterA.raise(offline('cam1'))).toBe('sent');
    await waitFor('both deliveries', () => delivered('/hook').length === 1 && delivered(`/${TOPIC_SECRET}`).length === 1, 10_000, 50);

    const hook = delivered('/hook')[0]!;
    expect(hook.headers['content-type']).toBe('application/json');
    expect(hook.headers.authorization).toBe(HEADER_SECRET);
    const body = JSON.parse(hook.body);
    expect(body).toMatchObject({ type: 'camera-offline', cameraId: 'cam1', replicaId: null, install: 'test-install', priority: 'high', title: '[test-install] Camera "cam1" is offline' });
    expect(body.message).toMatch(/^no video since \d\d:\d\d:\d\d UTC \(30 s\): rtsp:\/\/\*\*\*@10\.0\.0\.9\/stream1: Connection timed out$/);
    expect(hook.body).not.toContain('hunter2');

    const ntfy = delivered(`/${TOPIC_SECRET}`)[0]!;
    expect(ntfy.headers['content-type']).toMatch(/^text\/plain/);
    expect(ntfy.headers.title).toBe('[test-install] Camera "cam1" is offline');
    expect(ntfy.headers.priority).toBe('high');
    expect(ntfy.headers.tags).toBe('warning,camera-offline');
    expect(ntfy.body).toMatch(/^no video since .* Connection timed out$/);
  });

  it('a receiver answering 500 twice gets the message exactly once, after retries', async () => {
    const event: AlertEvent = { type: 'disk-nearly-full', at: new Date().toISOString(), details: { usedPercent: 96.5, freeBytes: 2 * 1024 ** 3 } };
    expect(await alerterA.raise(event)).toBe('sent');
    const job = await waitFor('the flaky job to complete', async () => {
      const j = await notify.queue.getJob(notifyJobId('flaky', event));
      return (await j?.getState()) === 'completed' ? j : undefined;
    }, 15_000, 50);
    expect(job.attemptsMade).toBe(3);
    expect(job.returnvalue).toEqual({ targetId: 'flaky', outcome: 'delivered', status: 200 });
    await sleep(300);
    expect(received.filter((r) => r.path === '/flaky').map((r) => r.status)).toEqual([500, 500, 200]);
    expect(JSON.parse(delivered('/flaky')[0]!.body)).toMatchObject({ type: 'disk-nearly-full', title: '[test-install] Recordings disk nearly full (96.5%)' });
    // The errors BullMQ kept name the target, the status and the masked URL.
    expect((job.stacktrace ?? []).join('\n')).toContain(`alert target "flaky" (${base}/...) answered HTTP 500`);
  });

  it('minIntervalSeconds holds across processes; a retried raise is not a duplicate', async () => {
    const first = offline('cam2');
    expect(await alerterA.raise(first)).toBe('sent');
    expect(await alerterA.raise(first)).toBe('sent'); // the same event again (a retry): same job ids
    expect(await alerterB.raise(offline('cam2', new Date(Date.now() + 5000).toISOString()))).toBe('suppressed');
    expect(await alerterB.raise(back('cam2'))).toBe('sent'); // another type: its own interval
    expect(await alerterB.raise({ type: 'segment-unrecoverable', cameraId: 'cam2', at: new Date().toISOString(), details: { file: 'a.mp4', reason: 'x' } })).toBe('no-targets');
    await waitFor('cam2 back', () => hookBodies().some((b) => b.cameraId === 'cam2' && b.type === 'camera-back'), 10_000, 50);
    await sleep(500);
    const cam2 = hookBodies().filter((b) => b.cameraId === 'cam2');
    expect(cam2.map((b) => b.type).sort()).toEqual(['camera-back', 'camera-offline']);
    expect(delivered(`/${TOPIC_SECRET}`).filter((r) => r.headers.title?.includes('cam2'))).toHaveLength(2);
  });

  it('transition(): of two processes making the same change, one speaks', async () => {
    const results = await Promise.all([
      alerterA.transition('camera:cam3', 'offline', offline('cam3')),
      alerterB.transition('camera:cam3', 'offline', offline('cam3')),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await alerterA.transition('camera:cam3', 'offline', offline('cam3'))).toBe(false);
    expect(await alerterB.transition('camera:cam3', 'online', back('cam3'))).toBe(true);
    expect(await alerterA.transition('camera:cam3', 'online', back('cam3'))).toBe(false);
    await waitFor('cam3 back', () => hookBodies().some((b) => b.cameraId === 'cam3' && b.type === 'camera-back'), 10_000, 50);
    await sleep(500);
    expect(hookBodies().filter((b) => b.cameraId === 'cam3').map((b) => b.type)).toEqual(['camera-offline', 'camera-back']);
    expect((await alerterA.readStates()).get('camera:cam3')).toMatchObject({ state: 'online', open: false, notified: false });
  });

  it('pairing: the "back" of a throttled "offline" is not sent either', async () => {
    expect(await alerterA.raise(offline('cam4'))).toBe('sent'); // fills cam4's offline interval
    await waitFor('cam4 offline', () => hookBodies().some((b) => b.cameraId === 'cam4'), 10_000, 50);
    expect(await alerterB.transition('camera:cam4', 'offline', offline('cam4', new Date(Date.now() + 1000).toISOString()))).toBe(true);
    expect((await alerterA.readStates()).get('camera:cam4')).toMatchObject({ state: 'offline', open: true, notified: false });
    expect(await alerterA.transition('camera:cam4', 'online', back('cam4'))).toBe(true);
    await sleep(700);
    expect(hookBodies().filter((b) => b.cameraId === 'cam4').map((b) => b.type)).toEqual(['camera-offline']);
  });

  it('a job whose target left the config completes as "target removed"', async () => {
    const job = await notify.queue.add('notify', { targetId: 'gone', event: back('cam9') }, { jobId: 'notify-gone-test' });
    const done = await waitFor('the job', async () => ((await job.getState()) === 'completed' ? notify.queue.getJob(job.id!) : undefined), 10_000, 50);
    expect(done?.returnvalue).toEqual({ targetId: 'gone', outcome: 'target removed' });
  });

  it('camera health check: two schedulers and a restart, one offline and one back with the whole outage', async () => {
    let now = Date.parse('2026-11-20T10:00:00.000Z');
    let lastVideo = now;
    let frozen = false;
    const readProgress = async () => {
      if (!frozen) lastVideo = now;
      const p: CameraProgress = { state: frozen ? 'reconnecting' : 'recording', lastProgressAt: new Date(lastVideo).toISOString(), updatedAt: new Date(now).toISOString() };
      return new Map([['cam5', p]]);
    };
    const opts = { getConfig, readProgress, logger: quiet, now: () => now };
    const schedulerA = createCameraHealthCheck({ ...opts, alerter: alerterA });
    const schedulerB = createCameraHealthCheck({ ...opts, alerter: alerterB });
    const tick = async (checks: Array<() => Promise<void>>, seconds: number) => {
      for (let i = 0; i < seconds / 2; i++) {
        await Promise.all(checks.map((c) => c()));
        now += 2000;
      }
    };
    await tick([schedulerA, schedulerB], 20); // recording: online, silently
    expect((await alerterA.readStates()).get('camera:cam5')?.state).toBe('online');
    frozen = true;
    const frozeAt = lastVideo;
    await tick([schedulerA, schedulerB], 60);
    expect((await alerterA.readStates()).get('camera:cam5')).toMatchObject({ state: 'offline', data: { noVideoSince: new Date(frozeAt).toISOString() } });
    // Both schedulers restart mid-outage: nothing resent.
    const schedulerC = createCameraHealthCheck({ ...opts, alerter: alerterA });
    await tick([schedulerC], 60);
    frozen = false;
    const thawAt = now;
    await tick([schedulerC], 4);
    await waitFor('cam5 back', () => hookBodies().some((b) => b.cameraId === 'cam5' && b.type === 'camera-back'), 10_000, 50);
    await sleep(500);
    const cam5 = hookBodies().filter((b) => b.cameraId === 'cam5');
    expect(cam5.map((b) => b.type)).toEqual(['camera-offline', 'camera-back']);
    expect(cam5[0]!.details).toMatchObject({ offlineForSeconds: 30, lastVideoAt: new Date(frozeAt).toISOString() });
    expect(cam5[1]!.details).toEqual({ outageSeconds: (thawAt - frozeAt) / 1000 });
  });

  it('startCameraHealthMonitor polls until stop(), and survives a failing poll', async () => {
    let calls = 0;
    const readProgress = async () => {
      calls++;
      if (calls === 2) throw new Error('progress unreadable');
      return new Map<string, CameraProgress | undefined>();
    };
    const monitor = startCameraHealthMonitor({ alerter: alerterA, getConfig, readProgress, logger: quiet, everyMs: 20 });
    await waitFor('a few polls', () => calls >= 4, 5000, 10);
    await monitor.stop();
    const after = calls;
    await sleep(100);
    expect(calls).toBe(after);
  });

  it('no secrets in Redis: job data holds only the target id and the redacted event', async () => {
    const dump = await dumpPrefix(redisA, prefix);
    expect(dump).toContain('camera-offline'); // the dump does hold the jobs
    for (const secret of ['headersecret456', URL_SECRET, TOPIC_SECRET, `${base}/hook`, 'hunter2', 'admin:']) expect(dump).not.toContain(secret);
    const jobs = await notify.queue.getJobs(['completed', 'failed', 'waiting', 'delayed', 'active']);
    expect(jobs.length).toBeGreaterThan(5);
    for (const job of jobs) expect(Object.keys(job.data).sort()).toEqual(['event', 'targetId']);
  });
});
