import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { RECORD_QUEUE } from './names.js';
import type { RecordJobData, RecordResult } from './contracts.js';

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
