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
 * Redis hash `<prefix>:replication-usage`, per `<target>|<camera>|`: `bytes`, `requests` (whole-segment
 * uploads and their checks, written by the replicate workers) and `since` (ms, the first count).
 */
export function replicationUsageKey(prefix: string): string {
  return `${prefix}:replication-usage`;
}

/** Requests a whole-segment job costs on a target type (directory: none, it is a folder). */
const WHOLE_REQUESTS: Record<ReplicaConfig['type'], { copied: number; already: number }> = {
  directory: { copied: 0, already: 0 },
  // HEAD, PUT / HEAD
  http: { copied: 2, already: 1 },
  // HEAD, PUT, LIST (the join) / HEAD, LIST
  s3: { copied: 3, already: 2 },
};

export async function recordUsage(redis: Redis, prefix: string, target: Pick<ReplicaConfig, 'id' | 'type'>, cameraId: string, outcome: 'copied' | 'already', bytes: number, now = Date.now()): Promise<void> {
  const f = `${target.id}|${cameraId}|`;
  await redis
    .multi()
    .hsetnx(replicationUsageKey(prefix), `${f}since`, String(now))
    .hincrby(replicationUsageKey(prefix), `${f}bytes`, outcome === 'copied' ? bytes : 0)
    .hincrby(replicationUsageKey(prefix), `${f}requests`, WHOLE_REQUESTS[target.type][outcome])
    .exec();
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
  /** Live copies of the segments being recorded, per camera (only fresh reports of running senders). */
  live?: LiveCameraStatus[];
}

export interface LiveCameraStatus {
  cameraId: string;
  /** How far behind live the target is right now. */
  lagSeconds: number;
  /** Bytes sent, per hour of this camera: live appends / chunks plus whole-segment uploads (s3 sends a segment twice). */
  bytesPerHour: number;
  /** Of which live. */
  liveBytesPerHour: number;
  /** Requests (live appends / chunk PUTs, finishes, whole-segment HEAD / PUT / LIST), per hour of this camera. */
  requestsPerHour: number;
  /** Of which live (s3: the chunk PUTs, at most 3600 / chunkSeconds). */
  liveRequestsPerHour: number;
  up: boolean;
  lastError?: string;
  /** When the worker reported it (ms). */
  at: number;
}

/** Reports older than this are of a sender that stopped (its worker died or the camera moved). */
const LIVE_STALE_MS = 30_000;

/** The live senders' reports of one target, freshest per camera (pure). */
export function liveStatusOf(targetId: string, hash: Record<string, string>, now = Date.now(), usage: Record<string, string> = {}): LiveCameraStatus[] {
  const whole = (cameraId: string) => {
    const f = `${targetId}|${cameraId}|`;
    const since = Number(usage[`${f}since`]);
    if (!Number.isFinite(since)) return { bytes: 0, requests: 0 };
    const hours = Math.max(1 / 60, (now - since) / 3_600_000);
    return { bytes: Number(usage[`${f}bytes`] ?? 0) / hours, requests: Number(usage[`${f}requests`] ?? 0) / hours };
  };
  const best = new Map<string, LiveCameraStatus>();
  for (const [field, value] of Object.entries(hash)) {
    const bar = field.indexOf('|');
    if (bar < 0 || field.slice(0, bar) !== targetId) continue;
    let r: { cameraId?: string; lagMs?: number; bytesSent?: number; requests?: number; since?: number; up?: boolean; lastError?: string; at?: number };
    try {
      r = JSON.parse(value) as typeof r;
    } catch {
      continue;
    }
    const at = Number(r.at);
    if (!Number.isFinite(at) || now - at > LIVE_STALE_MS || typeof r.cameraId !== 'string') continue;
    const hours = Math.max(1 / 60, (at - Number(r.since ?? at)) / 3_600_000);
    const w = whole(r.cameraId);
    const liveBytes = Number(r.bytesSent ?? 0) / hours;
    const s: LiveCameraStatus = {
      cameraId: r.cameraId,
      lagSeconds: Math.round(Number(r.lagMs ?? 0) / 100) / 10,
      bytesPerHour: Math.round(liveBytes + w.bytes),
      liveBytesPerHour: Math.round(liveBytes),
      requestsPerHour: Math.round(Number(r.requests ?? 0) / hours + w.requests),
      liveRequestsPerHour: Math.round(Number(r.requests ?? 0) / hours),
      up: r.up !== false,
      at,
      ...(r.lastError ? { lastError: r.lastError } : {}),
    };
    const prev = best.get(s.cameraId);
    if (!prev || prev.at < s.at) best.set(s.cameraId, s);
  }
  return [...best.values()].sort((x, y) => x.cameraId.localeCompare(y.cameraId));
}

/** Per configured target: queue counts, last success, oldest waiting segment, up/down (for the board). */
export async function replicationStatus(redis: Redis, prefix: string, config: Pick<RecorderConfig, 'replicas' | 'storage'>, hostname: string): Promise<ReplicaTargetStatus[]> {
  const [info, liveInfo, usage] = await Promise.all([redis.hgetall(replicationKey(prefix)), redis.hgetall(liveReplicationKey(prefix)), redis.hgetall(replicationUsageKey(prefix))]);
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
      const live = liveStatusOf(t.id, liveInfo, Date.now(), usage);
      if (live.length) s.live = live;
      out.push(s);
    } finally {
      await queue.close().catch(() => {});
    }
  }
  return out;
}
