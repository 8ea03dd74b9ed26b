import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { MAINTENANCE_QUEUE, PRUNE_JOB_NAME, PRUNE_SCHEDULER_ID, RECORD_QUEUE, REPAIR_QUEUE, VERIFY_JOB_NAME, verifyJobId } from './names.js';
import type { PruneJobData, RecordJobData, RecordResult, RepairJobData, RepairStep, VerifyJobData } from './contracts.js';

export type RecordQueue = Queue<RecordJobData, RecordResult, 'record'>;

export function createRecordQueue(connection: Redis, prefix: string): RecordQueue {
  return new Queue<RecordJobData, RecordResult, 'record'>(RECORD_QUEUE, { connection, prefix });
}

/**
 * Options of a record job. Recording must never end in "failed" for a transient
 * fault: attempts are practically unlimited with a capped backoff, and the
 * worker restarts ffmpeg inside the job anyway.
 */
export const RECORD_JOB_OPTIONS: JobsOptions = {
  attempts: 1_000_000,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: { count: 100 },
  keepLogs: 200,
};

export type RepairQueue = Queue<VerifyJobData | RepairJobData, unknown, string>;

export function createRepairQueue(connection: Redis, prefix: string, name: string = REPAIR_QUEUE): RepairQueue {
  return new Queue<VerifyJobData | RepairJobData, unknown, string>(name, { connection, prefix });
}

export type MaintenanceQueue = Queue<PruneJobData, unknown, string>;

export function createMaintenanceQueue(connection: Redis, prefix: string, name: string = MAINTENANCE_QUEUE): MaintenanceQueue {
  return new Queue<PruneJobData, unknown, string>(name, { connection, prefix });
}

export const MAINTENANCE_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: { count: 200 },
  removeOnFail: { count: 200 },
};

export const VERIFY_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: { count: 1000, age: 7 * 24 * 3600 },
  removeOnFail: { count: 1000 },
};

/**
 * Makes sure the prune Job Scheduler exists with this period: created when
 * missing (first start, or removed by hand or by a Redis flush), updated when
 * the period changed, left alone otherwise (no Redis write). Called on every
 * reconcile round, so retention cannot silently stop. Returns what it did.
 */
export async function ensurePruneSchedule(queue: MaintenanceQueue, everySeconds: number, trigger: string): Promise<'created' | 'updated' | 'unchanged'> {
  const every = everySeconds * 1000;
  const existing = await queue.getJobScheduler(PRUNE_SCHEDULER_ID);
  if (existing && existing.every === every) return 'unchanged';
  await queue.upsertJobScheduler(PRUNE_SCHEDULER_ID, { every }, { name: PRUNE_JOB_NAME, data: { trigger }, opts: MAINTENANCE_JOB_OPTIONS });
  return existing ? 'updated' : 'created';
}

/**
 * The one way a verify job is enqueued (ffmpeg closed or cut a segment, a scan
 * found a broken file, the CLI queues one by hand). One job id per file
 * (verifyJobId): a second report of the same file while its job exists is a
 * no-op. `again` (a person asked) first removes a finished job of that file so
 * that it runs once more; a job still waiting or running is left as it is.
 */
export async function enqueueVerify(
  queue: RepairQueue,
  data: Omit<VerifyJobData, 'reportedAt'> & { reportedAt?: string },
  opts: { again?: boolean } = {},
): Promise<{ jobId: string; queue: string }> {
  const jobId = verifyJobId(data.cameraId, data.file.split(/[\\/]/).pop() ?? data.file);
  if (opts.again) {
    const old = await queue.getJob(jobId);
    if (old && ((await old.isCompleted()) || (await old.isFailed()))) await old.remove();
  }
  await queue.add(VERIFY_JOB_NAME, { ...data, reportedAt: data.reportedAt ?? new Date().toISOString() }, { ...VERIFY_JOB_OPTIONS, jobId });
  return { jobId, queue: queue.name };
}

/** Id of one repair step's job (a new job per step, so every step shows in Bull Board). */
export function repairJobId(data: Pick<VerifyJobData, 'cameraId' | 'file'>, step: RepairStep, now = Date.now()): string {
  return `repair-${data.cameraId}-${(data.file.split(/[\\/]/).pop() ?? data.file).replace(/[^A-Za-z0-9_.-]/g, '_')}-${step}-${now}`;
}
