import os from 'node:os';
import type { Redis } from 'ioredis';
import { createCameraHealthCheck, startAlerting, type CameraProgress } from '@tapo/alerts';
import type { ConfigSource } from '@tapo/config';
import type { Logger } from '@tapo/log';
import {
  MAINTENANCE_JOB_OPTIONS,
  SCAN_JOB_NAME,
  createMaintenanceQueue,
  ensurePruneSchedule,
  createRecordQueue,
  createRedis,
  recordJobId,
  type RecordQueue,
} from '@tapo/queues';
import { reconcileRecordJobs, type ReconcileReport } from './reconcile.js';

export interface SchedulerOptions {
  redisUrl: string;
  prefix: string;
  config: ConfigSource;
  logger: Logger;
  /** How often the queue is reconciled with the config. Default 5000 ms. */
  intervalMs?: number;
  /** How often camera health is checked for alerts (when alert targets exist). Default 2000 ms. */
  healthEveryMs?: number;
}

export interface Scheduler {
  queue: RecordQueue;
  /** Runs one reconcile now. */
  reconcile(): Promise<ReconcileReport>;
  close(): Promise<void>;
}

/** Keeps one record job per enabled camera, re-checking every few seconds. */
export async function startScheduler(opts: SchedulerOptions): Promise<Scheduler> {
  const log = opts.logger;
  const redis: Redis = createRedis(opts.redisUrl, { name: 'recorder-scheduler' });
  redis.on('error', (e) => log.debug({ err: e }, 'redis (scheduler) error'));
  const queue = createRecordQueue(redis, opts.prefix);
  queue.on('error', (e) => log.debug({ err: e }, 'queue error'));
  let lastFailure = '';
  // With a shared recordings volume, the prune schedule and the startup scan
  // live in the one maintenance queue (storage: local: each worker keeps its own).
  const maintenance = createMaintenanceQueue(redis, opts.prefix);
  maintenance.on('error', () => {});
  let pruneScheduled = false;
  let scanned = false;

  // Alerts: the scheduler watches every camera's heartbeat (camera offline /
  // back / authentication failing) and delivers `notify` jobs too, so messages
  // go out even when no worker is alive. Only while alert targets exist.
  const blocking = createRedis(opts.redisUrl, { blocking: true, name: 'recorder-scheduler-alerts' });
  blocking.on('error', () => {});
  const alerting = startAlerting({ blocking, redis, prefix: opts.prefix, getConfig: () => opts.config.get(), logger: log, hostname: os.hostname() });
  const readProgress = async (): Promise<Map<string, CameraProgress | undefined>> => {
    const cams = opts.config.get().cameras.filter((c) => c.enabled);
    const pipe = redis.pipeline();
    for (const c of cams) pipe.hget(queue.toKey(recordJobId(c.id)), 'progress');
    const res = (await pipe.exec()) ?? [];
    const out = new Map<string, CameraProgress | undefined>();
    cams.forEach((c, i) => {
      const raw = res[i]?.[1];
      let p: CameraProgress | undefined;
      try {
        p = typeof raw === 'string' ? (JSON.parse(raw) as CameraProgress) : undefined;
      } catch {
        p = undefined;
      }
      out.set(c.id, p);
    });
    return out;
  };
  const healthCheck = createCameraHealthCheck({ alerter: alerting.alerter, getConfig: () => opts.config.get(), readProgress, logger: log });
  let healthProblem = '';
  const healthTimer = setInterval(() => {
    if (opts.config.get().alerts.targets.length === 0) return;
    healthCheck().then(
      () => (healthProblem = ''),
      (e: Error) => {
        if (e.message !== healthProblem) log.warn({ err: e }, `camera health check failed: ${e.message}`);
        healthProblem = e.message;
      },
    );
  }, opts.healthEveryMs ?? 2000);
  healthTimer.unref();

  async function reconcile(): Promise<ReconcileReport> {
    const config = opts.config.get();
    const report = await reconcileRecordJobs(queue, redis, opts.prefix, config, log);
    if (config.storage === 'shared') {
      // Every round, whatever happened to it (removed by hand, lost with Redis's data): retention must not stop.
      const did = await ensurePruneSchedule(maintenance, config.pruneEverySeconds, 'schedule');
      if (did === 'created' && pruneScheduled) log.warn(`the prune Job Scheduler was gone: re-created (every ${config.pruneEverySeconds} s)`);
      else if (did !== 'unchanged') log.info(`prune scheduled every ${config.pruneEverySeconds} s`);
      pruneScheduled = true;
    }
    if (config.storage === 'shared' && !scanned) {
      // Index files left on disk by a crash (one scan per scheduler start; two
      // schedulers starting in the same minute share it).
      await maintenance.add(SCAN_JOB_NAME, { trigger: 'startup' }, { ...MAINTENANCE_JOB_OPTIONS, jobId: `scan-startup-${Math.floor(Date.now() / 60_000)}` });
      scanned = true;
    }
    if (report.created.length) log.info({ cameras: report.created }, `record jobs created: ${report.created.join(', ')}`);
    if (report.updated.length) log.info({ cameras: report.updated }, `record jobs updated: ${report.updated.join(', ')}`);
    return report;
  }

  const first = await reconcile();
  const enabled = opts.config.get().cameras.filter((c) => c.enabled).length;
  log.info({ ...first, enabled }, `scheduler ready: ${enabled} camera(s) to record`);

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    if (stopped) return;
    try {
      await reconcile();
      if (lastFailure) log.info('scheduler reconnected to Redis');
      lastFailure = '';
    } catch (e) {
      const msg = (e as Error).message;
      if (msg !== lastFailure) log.warn({ err: e }, `reconcile failed: ${msg}`);
      lastFailure = msg;
    }
    if (!stopped) timer = setTimeout(loop, opts.intervalMs ?? 5000);
  };
  timer = setTimeout(loop, opts.intervalMs ?? 5000);

  return {
    queue,
    reconcile,
    async close() {
      stopped = true;
      clearTimeout(timer);
      clearInterval(healthTimer);
      await alerting.close();
      await blocking.quit().catch(() => {});
      await queue.close();
      await maintenance.close();
      await redis.quit().catch(() => {});
    },
  };
}
