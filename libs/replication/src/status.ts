import type { Redis } from 'ioredis';
import type { RecorderConfig, ReplicaConfig } from '@tapo/config';
import { createReplicateQueue, replicateQueueName, type ReplicateJobData } from '@tapo/queues';
import type { TargetState } from './target-health.js';
import { createReplicaTarget } from './targets/index.js';

/**
 * Redis hash `<prefix>:replication`, per target:
 *   <target>:lastSuccessMs, <target>:lastSuccessFile   last segment copied (or found there)
 *   <target>:up ("1"/"0"), <target>:downSince, <target>:lastError, <target>:stateMs
 * written by the replication workers (the newest writer wins when several run).
 */
export function replicationKey(prefix: string): string {
  return `${prefix}:replication`;
}

/**
 * Redis hash `<prefix>:replication-live`, field `<target>|<camera>`: the JSON of the live sender's
 * LiveSenderStats plus `at` (ms), written every few seconds by the worker recording the camera.
 */
export function liveReplicationKey(prefix: string): string {
  return `${prefix}:replication-live`;
}

/**
 * The worker's limiter: BullMQ only honours a manual rate limit (queue.rateLimit)
 * when the worker has a limiter; this one never limits by itself.
 */
export const REPLICATE_LIMITER = { max: 1_000_000, duration: 1000 };

export async function recordSuccess(redis: Redis, prefix: string, targetId: string, file: string, now = Date.now()): Promise<void> {
  await redis.hset(replicationKey(prefix), `${targetId}:lastSuccessMs`, String(now), `${targetId}:lastSuccessFile`, file);
}

export async function recordTargetState(redis: Redis, prefix: string, targetId: string, s: TargetState, now = Date.now()): Promise<void> {
  const key = replicationKey(prefix);
  await redis
    .multi()
    .hset(key, `${targetId}:up`, s.up ? '1' : '0', `${targetId}:stateMs`, String(now))
    .hset(key, `${targetId}:downSince`, s.downSince !== undefined ? String(s.downSince) : '', `${targetId}:lastError`, s.lastError ?? '')
    .exec();
}

export interface ReplicaTargetStatus {
  id: string;
  type: ReplicaConfig['type'];
  /** The folder, or the URL without credentials. */
  where: string;
  queue: string;
  waiting: number;
  active: number;
  /** Retries of unexpected errors, waiting for their backoff. */
  delayed: number;
  failed: number;
  completed: number;
  /** Rate-limited because the target is down: ms until the next probe. */
  pausedForMs: number;
  lastSuccessMs?: number;
  lastSuccessFile?: string;
  /** Start of the oldest segment waiting (how far behind the copies are). */
  oldestWaitingStartMs?: number;
  oldestWaitingFile?: string;
  /** As last reported by a replication worker. */
  up?: boolean;
  downSince?: number;
  lastError?: string;
}

/** Per configured target: queue counts, last success, oldest waiting segment, up/down (for the board). */
export async function replicationStatus(redis: Redis, prefix: string, config: Pick<RecorderConfig, 'replicas' | 'storage'>, hostname: string): Promise<ReplicaTargetStatus[]> {
  const info = await redis.hgetall(replicationKey(prefix));
  const num = (k: string) => (info[k] ? Number(info[k]) : undefined);
  const out: ReplicaTargetStatus[] = [];
  for (const t of config.replicas) {
    const name = replicateQueueName(t.id, config.storage, hostname);
    const queue = createReplicateQueue(redis, prefix, name);
    try {
      const [counts, tail, head, ttl] = await Promise.all([
        queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'),
        queue.getJobs(['waiting'], 0, 9, false),
        queue.getJobs(['waiting'], 0, 9, true),
        queue.getRateLimitTtl(REPLICATE_LIMITER.max),
      ]);
      let oldest: ReplicateJobData | undefined;
      for (const j of [...tail, ...head]) {
        if (j?.data && (!oldest || j.data.startMs < oldest.startMs)) oldest = j.data;
      }
      const s: ReplicaTargetStatus = {
        id: t.id,
        type: t.type,
        where: createReplicaTarget(t).where,
        queue: name,
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
        completed: counts.completed ?? 0,
        pausedForMs: Math.max(0, Number(ttl) || 0),
      };
      const last = num(`${t.id}:lastSuccessMs`);
      if (last !== undefined) s.lastSuccessMs = last;
      if (info[`${t.id}:lastSuccessFile`]) s.lastSuccessFile = info[`${t.id}:lastSuccessFile`]!;
      if (oldest) {
        s.oldestWaitingStartMs = oldest.startMs;
        s.oldestWaitingFile = oldest.file;
      }
      if (info[`${t.id}:up`] !== undefined) s.up = info[`${t.id}:up`] === '1';
      const since = num(`${t.id}:downSince`);
      if (since !== undefined && s.up === false) s.downSince = since;
      if (info[`${t.id}:lastError`] && s.up === false) s.lastError = info[`${t.id}:lastError`]!;
      out.push(s);
    } finally {
      await queue.close().catch(() => {});
    }
  }
  return out;
}
