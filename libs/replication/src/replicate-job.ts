import path from 'node:path';
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RecorderConfig, ReplicaConfig } from '@tapo/config';
import { REPLICATE_JOB_NAME, replicateJobId, replicateQueueName } from '@tapo/queues';

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
 * second enqueue of the same segment), failed ones a week.
 */
export const REPLICATE_JOB_OPTIONS: JobsOptions = {
  attempts: 1000,
  backoff: { type: 'fixed', delay: 30_000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export function createReplicateQueue(connection: Redis, prefix: string, name: string): ReplicateQueue {
  const q = new Queue<ReplicateJobData, ReplicateResult, typeof REPLICATE_JOB_NAME>(name, { connection, prefix });
  q.on('error', () => {});
  return q;
}

/** True when `target` takes segments of `cameraId`. */
export function targetWantsCamera(target: ReplicaConfig, cameraId: string): boolean {
  return !target.cameras || target.cameras.includes(cameraId);
}

/** True when the segment ended before the target's maxAge window: not worth sending (bounds the backlog). */
export function olderThanRetention(target: ReplicaConfig, seg: { startMs: number; durationMs: number }, now: number): boolean {
  const max = target.retention.maxAgeSeconds;
  return max !== undefined && seg.startMs + Math.max(0, seg.durationMs) < now - max * 1000;
}

export interface SegmentToReplicate {
  /** Relative to recordingsDir. */
  file: string;
  startMs: number;
  durationMs: number;
  bytes: number;
  /** Host that wrote it. */
  host: string;
}

export interface EnqueueReplicasOptions {
  /** The queue of a target (see replicateQueues). */
  queues: (targetId: string) => Pick<ReplicateQueue, 'add'>;
  config: Pick<RecorderConfig, 'replicas'>;
  cameraId: string;
  segment: SegmentToReplicate;
  now?: number;
}

/**
 * Adds one `replicate` job per target that takes this camera: LIFO (the newest
 * segment goes first when a backlog drains) and with the deterministic jobId
 * (adding the same segment twice is a no-op). Segments already older than a
 * target's maxAge are not added. Returns the target ids it was added for.
 */
export async function enqueueReplicas(o: EnqueueReplicasOptions): Promise<string[]> {
  const now = o.now ?? Date.now();
  const fileName = path.posix.basename(o.segment.file);
  const added: string[] = [];
  for (const target of o.config.replicas) {
    if (!targetWantsCamera(target, o.cameraId)) continue;
    if (olderThanRetention(target, o.segment, now)) continue;
    const data: ReplicateJobData = {
      targetId: target.id,
      cameraId: o.cameraId,
      file: o.segment.file,
      startMs: o.segment.startMs,
      durationMs: o.segment.durationMs,
      bytes: o.segment.bytes,
      host: o.segment.host,
    };
    await o.queues(target.id).add(REPLICATE_JOB_NAME, data, {
      ...REPLICATE_JOB_OPTIONS,
      jobId: replicateJobId(target.id, o.cameraId, fileName),
      lifo: true,
    });
    added.push(target.id);
  }
  return added;
}

export interface ReplicateQueues {
  /** The queue of a target (created on first use). */
  get(targetId: string): ReplicateQueue;
  close(): Promise<void>;
}

/** Producer side: one cached Queue per target, named for this host (storage: local) or shared. */
export function replicateQueues(connection: Redis, prefix: string, storage: 'shared' | 'local', hostname: string): ReplicateQueues {
  const cache = new Map<string, ReplicateQueue>();
  return {
    get(targetId) {
      const name = replicateQueueName(targetId, storage, hostname);
      let q = cache.get(name);
      if (!q) {
        q = createReplicateQueue(connection, prefix, name);
        cache.set(name, q);
      }
      return q;
    },
    async close() {
      await Promise.allSettled([...cache.values()].map((q) => q.close()));
      cache.clear();
    },
  };
}
