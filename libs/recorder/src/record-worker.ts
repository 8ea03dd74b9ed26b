import os from 'node:os';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RecorderConfig } from '@tapo/config';
import type { Logger } from '@tapo/log';
import {
  RECORD_QUEUE,
  checkEvictionPolicy,
  createRedis,
  type RecordJobData,
  type RecordResult,
} from '@tapo/queues';
import type { CameraRecorder } from './camera-recorder.js';
import { createRecordProcessor, type RecordProcessorDeps } from './record-processor.js';
import { startDeadWorkerReaper, workerAliveBeat, workerLeaves } from './dead-worker-reaper.js';
import { reacquireJobLock } from './writer-lease.js';

/**
 * Timings for endless recording jobs (see docs/design.md):
 * - lockDuration 5 min: a Redis outage shorter than that never hands a camera
 *   over (ffmpeg keeps writing; the lock is still ours when Redis is back).
 * - Failover does not wait for the lock to expire: every worker refreshes an
 *   alive key every second (TTL 3 s) and reaps the locks of workers whose key is
 *   gone (dead-worker-reaper), then BullMQ's stalled check (every 2 s) moves the
 *   job to wait. Measured: cameras of a SIGKILLed worker record again ~10 s later.
 * - maxStalledCount 1000: a crash must never fail a recording ("stalled more than
 *   allowable limit" after the default 1); the stall count survives retries.
 * ffmpeg runs in a child process, so the event loop stays free to renew locks.
 */
export const RECORD_WORKER_TIMINGS = {
  lockDuration: 300_000,
  stalledInterval: 2_000,
  maxStalledCount: 1000,
  aliveTtlMs: 3_000,
  aliveEveryMs: 1_000,
} as const;

export interface RecordWorkerOptions {
  redisUrl: string;
  prefix: string;
  getConfig(): RecorderConfig;
  logger: Logger;
  concurrency?: number;
  hostname?: string;
  heartbeatMs?: number;
  ffmpegPath?: string;
  authRetryMs?: number;
  lockDuration?: number;
  stalledInterval?: number;
  segments?: RecordProcessorDeps['segments'];
  onFailure?: RecordProcessorDeps['onFailure'];
}

export interface RecordWorker {
  worker: Worker<RecordJobData, RecordResult>;
  active: Map<string, CameraRecorder>;
  /** Stops every recording cleanly, hands the jobs back, closes connections. */
  close(timeoutMs?: number): Promise<void>;
}

export async function startRecordWorker(opts: RecordWorkerOptions): Promise<RecordWorker> {
  const log = opts.logger;
  const hostname = opts.hostname ?? os.hostname();
  const blocking: Redis = createRedis(opts.redisUrl, { blocking: true, name: `recorder-worker-${hostname}` });
  const plain: Redis = createRedis(opts.redisUrl, { name: `recorder-worker-ctl-${hostname}` });
  // tokens is filled by the processor (job id → lock token).
  blocking.on('error', (e) => log.debug({ err: e }, 'redis (worker) error'));
  plain.on('error', (e) => log.debug({ err: e }, 'redis (control) error'));
  const warn = await checkEvictionPolicy(plain);
  if (warn) log.warn(`!!! ${warn}`);

  const active = new Map<string, CameraRecorder>();
  const tokens = new Map<string, string>();
  const lockDuration = opts.lockDuration ?? RECORD_WORKER_TIMINGS.lockDuration;
  const processor = createRecordProcessor({
    tokens,
    leaseTtlMs: lockDuration,
    getConfig: opts.getConfig,
    redis: plain,
    prefix: opts.prefix,
    logger: log,
    hostname,
    active,
    ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
    ...(opts.ffmpegPath ? { ffmpegPath: opts.ffmpegPath } : {}),
    ...(opts.authRetryMs !== undefined ? { authRetryMs: opts.authRetryMs } : {}),
    ...(opts.segments ? { segments: opts.segments } : {}),
    ...(opts.onFailure ? { onFailure: opts.onFailure } : {}),
  });

  const worker = new Worker<RecordJobData, RecordResult>(RECORD_QUEUE, processor, {
    connection: blocking,
    prefix: opts.prefix,
    concurrency: opts.concurrency ?? opts.getConfig().concurrency,
    name: hostname,
    lockDuration,
    stalledInterval: opts.stalledInterval ?? RECORD_WORKER_TIMINGS.stalledInterval,
    maxStalledCount: RECORD_WORKER_TIMINGS.maxStalledCount,
  });
  // During a Redis outage every retry fails the same way: say each distinct error once a minute.
  const lastSaid = new Map<string, number>();
  worker.on('error', (e) => {
    const now = Date.now();
    if ((lastSaid.get(e.message) ?? 0) > now - 60_000) return;
    lastSaid.set(e.message, now);
    log.warn({ err: e }, `worker error: ${e.message}`);
  });
  // The lock could not be extended (typically: Redis was away longer than
  // lockDuration). If the job is still ours, take the lock back and keep
  // recording without a gap; otherwise stop this ffmpeg at once, because
  // another worker records the camera now.
  worker.on('lockRenewalFailed', (jobIds: string[]) => {
    for (const id of jobIds) {
      const token = tokens.get(id);
      const verdict = token
        ? reacquireJobLock(plain, opts.prefix, RECORD_QUEUE, id, token, lockDuration)
        : Promise.resolve(-2);
      verdict
        .then((r) => {
          if (r === 1) {
            log.warn({ jobId: id }, `lock of ${id} had expired (Redis away?); still ours: re-taken, recording continues`);
          } else {
            log.error({ jobId: id, verdict: r }, `lost the lock of ${id}: stopping its ffmpeg (another worker takes it over)`);
            worker.cancelJob(id, 'lock-lost');
          }
        })
        .catch((e: Error) => log.warn({ jobId: id, err: e }, `cannot check the lock of ${id}: ${e.message}`));
    }
  });
  worker.on('failed', (job, err) => {
    if (err?.name === 'WaitingError') return;
    log.warn({ jobId: job?.id, err }, `record job ${job?.id} attempt failed: ${err?.message}`);
  });
  // Back from a Redis outage: take our expired job locks back at once, before
  // a stalled check (of any worker) hands the jobs to someone else.
  let wasDown = false;
  plain.on('close', () => (wasDown = true));
  plain.on('ready', () => {
    if (!wasDown) return;
    wasDown = false;
    for (const [id, token] of tokens) {
      reacquireJobLock(plain, opts.prefix, RECORD_QUEUE, id, token, lockDuration)
        .then((r) => log.info({ jobId: id, verdict: r }, `Redis is back: lock of ${id} ${r === 1 ? 'is ours' : 'was taken over'}`))
        .catch(() => {});
    }
  });

  // "I am alive": read by the writer leases and by other workers' reapers.
  const beat = () =>
    void workerAliveBeat(plain, opts.prefix, worker.id, `${hostname}:${process.pid}`, RECORD_WORKER_TIMINGS.aliveTtlMs).catch(() => {});
  beat();
  const aliveTimer = setInterval(beat, RECORD_WORKER_TIMINGS.aliveEveryMs);
  aliveTimer.unref();
  const reaper = startDeadWorkerReaper({ redis: plain, prefix: opts.prefix, queueName: RECORD_QUEUE, logger: log });
  await worker.waitUntilReady();
  log.info(
    { concurrency: worker.opts.concurrency, lockDuration: worker.opts.lockDuration, stalledInterval: worker.opts.stalledInterval },
    `worker ${hostname} ready`,
  );

  let closing: Promise<void> | undefined;
  function close(timeoutMs = 9000): Promise<void> {
    closing ??= (async () => {
      log.info(`worker ${hostname} stopping: ${active.size} recording(s) handed back`);
      worker.cancelAllJobs('shutdown');
      const graceful = worker.close();
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref()),
      ]);
      if (timedOut) {
        log.warn('recordings did not stop in time: forcing close');
        await worker.close(true);
      }
      clearInterval(aliveTimer);
      reaper.stop();
      await workerLeaves(plain, opts.prefix, worker.id).catch(() => {});
      await Promise.allSettled([blocking.quit(), plain.quit()]);
    })();
    return closing;
  }
  return { worker, active, close };
}
