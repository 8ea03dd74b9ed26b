import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { RECORD_QUEUE, REPAIR_QUEUE } from './names.js';
import type { RecordJobData, RecordResult, VerifyJobData } from './contracts.js';

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

export type RepairQueue = Queue<VerifyJobData, unknown, string>;

export function createRepairQueue(connection: Redis, prefix: string): RepairQueue {
  return new Queue<VerifyJobData, unknown, string>(REPAIR_QUEUE, { connection, prefix });
}

export const VERIFY_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: { count: 1000, age: 7 * 24 * 3600 },
  removeOnFail: { count: 1000 },
};
