import type { Redis } from 'ioredis';
import type { ConfigSource } from '@tapo/config';
import type { Logger } from '@tapo/log';
import { createRecordQueue, createRedis, type RecordQueue } from '@tapo/queues';
import { reconcileRecordJobs, type ReconcileReport } from './reconcile.js';

export interface SchedulerOptions {
  redisUrl: string;
  prefix: string;
  config: ConfigSource;
  logger: Logger;
  /** How often the queue is reconciled with the config. Default 5000 ms. */
  intervalMs?: number;
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

  async function reconcile(): Promise<ReconcileReport> {
    const config = opts.config.get();
    const report = await reconcileRecordJobs(queue, redis, opts.prefix, config, log);
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
      await queue.close();
      await redis.quit().catch(() => {});
    },
  };
}
