import { Worker, type Job } from 'bullmq';
import {
  MAINTENANCE_JOB_OPTIONS,
  MAINTENANCE_QUEUE,
  REPAIR_QUEUE,
  SCAN_JOB_NAME,
  createMaintenanceQueue,
  createRepairQueue,
  ensurePruneSchedule,
  fileQueueName,
  incrementCounter,
  type MaintenanceQueue,
  type RepairQueue,
  type JobWorkersContext,
} from '@tapo/queues';
import type { SegmentIndex } from '@tapo/segment-index';
import type { SegmentLifecycle } from '@tapo/segment-lifecycle';
import { processMaintenance, processRepair, processVerify, type FileEvent } from './processors.js';
import { runPrune, type PruneSummary } from './prune.js';

export interface FileWorkersOptions extends JobWorkersContext {
  /** The process's one segment index (reads, prune). */
  index: SegmentIndex;
  /** The process's segment lifecycle: verify results and repairs go through it. */
  segments: SegmentLifecycle;
  /** Things worth an alert (unrecoverable segment, prune summary). */
  onEvent?(e: FileEvent): void;
}

export interface FileWorkers {
  index: SegmentIndex;
  repairQueue: RepairQueue;
  maintenanceQueue: MaintenanceQueue;
  /** Prune now, in this process (emergency on ENOSPC). Concurrent calls share one run. */
  pruneNow(trigger: string): Promise<PruneSummary>;
  close(): Promise<void>;
}

/**
 * Workers for the jobs that touch files: the repair queue (verify, repair) and
 * the maintenance queue (prune, scan). With storage: local they consume this
 * host's queues and this process keeps the host's prune schedule.
 */
export async function startFileWorkers(opts: FileWorkersOptions): Promise<FileWorkers> {
  const config = opts.getConfig();
  const local = config.storage === 'local';
  const repairName = fileQueueName(REPAIR_QUEUE, config.storage, opts.hostname);
  const maintName = fileQueueName(MAINTENANCE_QUEUE, config.storage, opts.hostname);
  const index = opts.index;
  const repairQueue = createRepairQueue(opts.redis, opts.prefix, repairName);
  const maintenanceQueue = createMaintenanceQueue(opts.redis, opts.prefix, maintName);
  repairQueue.on('error', () => {});
  maintenanceQueue.on('error', () => {});
  const count = (field: string, by: number) => incrementCounter(opts.redis, opts.prefix, field, by);
  const deps = { getConfig: opts.getConfig, index, segments: opts.segments, repairQueue, hostname: opts.hostname, logger: opts.logger, count, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}), ...(local ? { onlyHost: opts.hostname } : {}) };

  const repairWorker = new Worker(
    repairName,
    async (job: Job) => (job.name === 'verify' ? processVerify(deps, job) : processRepair(deps, job)),
    { connection: opts.blocking, prefix: opts.prefix, concurrency: 1, lockDuration: 60_000 },
  );
  const maintWorker = new Worker(maintName, async (job: Job) => processMaintenance(deps, job), {
    connection: opts.blocking,
    prefix: opts.prefix,
    concurrency: 1,
    lockDuration: 60_000,
  });
  for (const w of [repairWorker, maintWorker]) {
    w.on('error', (e) => opts.logger.debug({ err: e }, `file worker error: ${e.message}`));
    w.on('failed', (job, err) => opts.logger.warn({ jobId: job?.id, queue: w.name }, `${w.name} job ${job?.name} ${job?.id} failed: ${err.message}`));
  }
  if (local) {
    await ensurePruneSchedule(maintenanceQueue, config.pruneEverySeconds, `schedule (${opts.hostname})`);
    await maintenanceQueue.add(SCAN_JOB_NAME, { trigger: 'startup' }, { ...MAINTENANCE_JOB_OPTIONS, jobId: `scan-startup-${Date.now()}` });
  }

  let running: Promise<PruneSummary> | undefined;
  function pruneNow(trigger: string): Promise<PruneSummary> {
    running ??= runPrune({ config: opts.getConfig(), index, count, ...(local ? { onlyHost: opts.hostname } : {}) })
      .then((r) => {
        opts.logger.warn({ deleted: r.deleted, bytes: r.bytes, trigger }, `emergency prune (${trigger}): deleted ${r.deleted} segment(s), ${r.bytes} bytes`);
        opts.onEvent?.({ type: 'pruned', trigger, emergency: true, summary: r });
        return r;
      })
      .finally(() => (running = undefined));
    return running;
  }

  // This host's prune schedule (storage: local) is checked again every 15 s, whatever happened to it.
  const scheduleTimer = local
    ? setInterval(() => {
        ensurePruneSchedule(maintenanceQueue, opts.getConfig().pruneEverySeconds, `schedule (${opts.hostname})`).then(
          (did) => {
            if (did !== 'unchanged') opts.logger.warn(`prune Job Scheduler of ${maintName} ${did} (every ${opts.getConfig().pruneEverySeconds} s)`);
          },
          () => {},
        );
      }, 15_000)
    : undefined;
  scheduleTimer?.unref();

  return {
    index,
    repairQueue,
    maintenanceQueue,
    pruneNow,
    async close() {
      clearInterval(scheduleTimer);
      await Promise.allSettled([repairWorker.close(), maintWorker.close()]);
      await Promise.allSettled([repairQueue.close(), maintenanceQueue.close()]);
    },
  };
}
