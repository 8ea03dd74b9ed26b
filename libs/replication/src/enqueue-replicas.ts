import path from 'node:path';
import type { Redis } from 'ioredis';
import type { RecorderConfig, ReplicaConfig } from '@tapo/config';
import {
  REPLICATE_JOB_NAME,
  REPLICATE_JOB_OPTIONS,
  createReplicateQueue,
  replicateJobId,
  replicateQueueName,
  type ReplicateJobData,
  type ReplicateQueue,
} from '@tapo/queues';

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
export async function enqueueReplicas(request: EnqueueReplicasOptions): Promise<string[]> {
  const { cameraId, segment } = request;
  const now = request.now ?? Date.now();
  const fileName = path.posix.basename(segment.file);
  const added: string[] = [];
  for (const target of request.config.replicas) {
    if (!targetWantsCamera(target, cameraId)) continue;
    if (olderThanRetention(target, segment, now)) continue;
    const data: ReplicateJobData = {
      targetId: target.id,
      cameraId,
      file: segment.file,
      startMs: segment.startMs,
      durationMs: segment.durationMs,
      bytes: segment.bytes,
      host: segment.host,
    };
    await request.queues(target.id).add(REPLICATE_JOB_NAME, data, {
      ...REPLICATE_JOB_OPTIONS,
      jobId: replicateJobId(target.id, cameraId, fileName),
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
      let queue = cache.get(name);
      if (!queue) {
        queue = createReplicateQueue(connection, prefix, name);
        cache.set(name, queue);
      }
      return queue;
    },
    async close() {
      await Promise.allSettled([...cache.values()].map((q) => q.close()));
      cache.clear();
    },
  };
}
