// Job contract of the replicate queue: see ./names.ts for the rule (every queue's names, data, results and ids live in this lib).
// The queue names and job ids are REPLICATE_JOB_NAME, replicateQueueName and replicateJobId in ./names.ts.
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { REPLICATE_JOB_NAME } from './names.js';

/**
 * Data of a `replicate` job: which segment goes to which target. Never a URL,
 * a path of the target nor a token: the processor looks the target up in the
 * live config (a token rotated in the config applies to the backlog too).
 */
export interface ReplicateJobData {
  targetId: string;
  cameraId: string;
  /** Relative to recordingsDir: <camera>/<YYYY-MM-DD>/<name>. */
  file: string;
  /** UTC start, ms since epoch. */
  startMs: number;
  durationMs: number;
  bytes: number;
  /** Host that wrote the segment. */
  host: string;
}

export type ReplicateOutcome =
  | 'copied'
  | 'already'
  | 'target removed'
  | 'skipped: camera not replicated'
  | 'skipped: source gone'
  | 'skipped: older than retention';

export interface ReplicateResult {
  outcome: ReplicateOutcome;
  bytes?: number;
  /** Time the copy / upload took. */
  ms?: number;
}

export type ReplicateQueue = Queue<ReplicateJobData, ReplicateResult, typeof REPLICATE_JOB_NAME>;

/**
 * A target may be down for hours: while it is, jobs are rate-limited back to
 * "wait" without burning attempts, so attempts only count unexpected errors.
 * Completed jobs are kept a day (the deterministic jobId then also dedups a
 * second enqueue of the same segment), failed ones a week. Jobs are added LIFO
 * (newest segment first when a backlog drains).
 */
export const REPLICATE_JOB_OPTIONS: JobsOptions = {
  attempts: 1000,
  backoff: { type: 'fixed', delay: 30_000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** The queue of one target (name from replicateQueueName). Its 'error' events are dropped: callers see the failure on their own calls. */
export function createReplicateQueue(connection: Redis, prefix: string, name: string): ReplicateQueue {
  const queue = new Queue<ReplicateJobData, ReplicateResult, typeof REPLICATE_JOB_NAME>(name, { connection, prefix });
  queue.on('error', () => {});
  return queue;
}
