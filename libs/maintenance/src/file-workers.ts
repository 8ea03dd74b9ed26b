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
import { SegmentIndex } from '@tapo/segment-index';
import { processMaintenance, processRepair, processVerify, type FileEvent } from './processors.js';
import { runPrune, type PruneSummary } from './prune.js';

export interface FileWorkersOptions extends JobWorkersContext {
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
export async function startFileWorkers(o: FileWorkersOptions): Promise<FileWorkers> {
  const config = o.getConfig();
  const local = config.storage === 'local';
  const repairName = fileQueueName(REPAIR_QUEUE, config.storage, o.hostname);
  const maintName = fileQueueName(MAINTENANCE_QUEUE, config.storage, o.hostname);
  const index = new SegmentIndex(o.redis, o.prefix);
  const repairQueue = createRepairQueue(o.redis, o.prefix, repairName);
  const maintenanceQueue = createMaintenanceQueue(o.redis, o.prefix, maintName);
  repairQueue.on('error', () => {});
  maintenanceQueue.on('error', () => {});
  const count = (field: string, by: number) => incrementCounter(o.redis, o.prefix, field, by);
  const deps = { getConfig: o.getConfig, index, repairQueue, hostname: o.hostname, logger: o.logger, count, ...(o.onEvent ? { onEvent: o.onEvent } : {}), ...(local ? { onlyHost: o.hostname } : {}) };

  const repairWorker = new Worker(
    repairName,
    async (job: Job) => (job.name === 'verify' ? processVerify(deps, job) : processRepair(deps, job)),
    { connection: o.blocking, prefix: o.prefix, concurrency: 1, lockDuration: 60_000 },
  );
  const maintWorker = new Worker(maintName, async (job: Job) => processMaintenance(deps, job), {
    connection: o.blocking,
    prefix: o.prefix,
    concurrency: 1,
    lockDuration: 60_000,
  });
  for (const w of [repairWorker, maintWorker]) {
    w.on('error', (e) => o.logger.debug({ err: e }, `file worker error: ${e.message}`));
    w.on('failed', (job, err) => o.logger.warn({ jobId: job?.id, queue: w.name }, `${w.name} job ${job?.name} ${job?.id} failed: ${err.message}`));
  }
  if (local) {
    await ensurePruneSchedule(maintenanceQueue, config.pruneEverySeconds, `schedule (${o.hostname})`);
    await maintenanceQueue.add(SCAN_JOB_NAME, { trigger: 'startup' }, { ...MAINTENANCE_JOB_OPTIONS, jobId: `scan-startup-${Date.now()}` });
  }

  let running: Promise<PruneSummary> | undefined;
  function pruneNow(trigger: string): Promise<PruneSummary> {
    running ??= runPrune({ config: o.getConfig(), index, count, ...(local ? { onlyHost: o.hostname } : {}) })
      .then((r) => {
        o.logger.warn({ deleted: r.deleted, bytes: r.bytes, trigger }, `emergency prune (${trigger}): deleted ${r.deleted} segment(s), ${r.bytes} bytes`);
        o.onEvent?.({ type: 'pruned', trigger, emergency: true, summary: r });
        return r;
      })
      .finally(() => (running = undefined));
    return running;
  }

  // This host's prune schedule (storage: local) is checked again every 15 s, whatever happened to it.
  const scheduleTimer = local
    ? setInterval(() => {
        ensurePruneSchedule(maintenanceQueue, o.getConfig().pruneEverySeconds, `schedule (${o.hostname})`).then(
          (did) => {
            if (did !== 'unchanged') o.logger.warn(`prune Job Scheduler of ${maintName} ${did} (every ${o.getConfig().pruneEverySeconds} s)`);
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
