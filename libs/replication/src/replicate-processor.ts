import { access } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RecorderConfig, ReplicaConfig } from '@tapo/config';
import { registerSecrets, type Logger } from '@tapo/log';
import {
  REPLICATE_JOB_NAME,
  createReplicateQueue,
  incrementCounter,
  replicateQueueName,
  type JobWorkersContext,
  type ReplicateJobData,
  type ReplicateQueue,
  type ReplicateResult,
} from '@tapo/queues';
import { parseSegmentFileName, resolveInside } from '@tapo/storage';
import { olderThanRetention, targetWantsCamera } from './enqueue-replicas.js';
import { ReplicationRejectedError, SourceGoneError, TargetDownError, errorCode, messageOf } from './errors.js';
import { pruneSchedule } from './prune-schedule.js';
import { RequeueOrder } from './requeue-order.js';
import { REPLICATE_LIMITER, recordSuccess, recordTargetState, recordUsage } from './status.js';
import { TargetHealth, type BackoffRange, type TargetState } from './target-health.js';
import { createReplicaTarget, replicaSecrets } from './targets/index.js';
import type { HttpTargetOptions } from './targets/http.js';
import { replicaSegment, type PutResult, type ReplicaTarget } from './targets/target.js';
import { closeS3Clients } from './targets/s3.js';

/** What one replicate job needs. */
export interface ReplicateContext {
  getConfig(): Pick<RecorderConfig, 'recordingsDir' | 'replicas'>;
  health: TargetHealth;
  logger: Logger;
  http?: HttpTargetOptions;
  now?(): number;
  /** The target of a config entry (default: createReplicaTarget; tests pass a fake). */
  targetFor?(config: ReplicaConfig): ReplicaTarget;
  /** The segment is on the target now (copied, or found there). */
  onReplicated?(target: ReplicaTarget, job: ReplicateJobData, result: PutResult): void | Promise<void>;
}

/** Raised by processReplicate when the target is down: the caller rate-limits the queue and requeues the job. */
export class TargetDownSignal extends Error {
  constructor(
    readonly down: TargetDownError,
    readonly delayMs: number,
  ) {
    super(down.message);
  }
}

/**
 * One replicate job: look the target up in the live config, skip what needs
 * no copy (camera not taken, too old, already on the target), else put it.
 * Throws TargetDownSignal when the target is unreachable (not a failure),
 * UnrecoverableError when the target refused for good, and anything else for
 * a retry with backoff.
 */
export async function processReplicate(ctx: ReplicateContext, data: ReplicateJobData): Promise<ReplicateResult> {
  const config = ctx.getConfig();
  const target = config.replicas.find((r) => r.id === data.targetId);
  if (!target) return { outcome: 'target removed' };
  if (!targetWantsCamera(target, data.cameraId)) return { outcome: 'skipped: camera not replicated' };
  const now = ctx.now?.() ?? Date.now();
  if (olderThanRetention(target, data, now)) return { outcome: 'skipped: older than retention' };

  const fileName = path.posix.basename(data.file);
  const parsed = parseSegmentFileName(fileName);
  const absPath = typeof data.file === 'string' && !data.file.includes('\0') && !data.file.includes('\\') ? resolveInside(config.recordingsDir, data.file) : undefined;
  if (!parsed || parsed.cameraId !== data.cameraId || !absPath) {
    throw new UnrecoverableError(`"${String(data.file)}" is not a segment file of camera "${data.cameraId}" inside the recordings folder`);
  }
  try {
    await access(absPath);
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return { outcome: 'skipped: source gone' };
    throw e;
  }

  const replica = ctx.targetFor ? ctx.targetFor(target) : createReplicaTarget(target, ctx.http ? { http: ctx.http } : {});
  const seg = replicaSegment({ absPath, cameraId: data.cameraId, fileName, startMs: data.startMs, durationMs: data.durationMs });
  const t0 = performance.now();
  let r: PutResult;
  try {
    r = (await replica.has(seg)) ? { outcome: 'already', ...(await seg.digest()), to: replica.where } : await replica.put(seg);
  } catch (e) {
    if (e instanceof SourceGoneError) return { outcome: 'skipped: source gone' };
    if (e instanceof TargetDownError) throw new TargetDownSignal(e, ctx.health.down(target.id, e.message, ctx.now?.() ?? Date.now()));
    if (e instanceof ReplicationRejectedError) throw new UnrecoverableError(e.message);
    throw e;
  }
  ctx.health.success(target.id, ctx.now?.() ?? Date.now());
  await ctx.onReplicated?.(replica, data, r);
  return { outcome: r.outcome, bytes: r.bytes, ms: Math.round(performance.now() - t0) };
}

export interface ReplicationWorkersOptions extends JobWorkersContext {
  /** A target went down / came back (per process; turn "down longer than alertAfterSeconds" into an alert). */
  onTargetState?(targetId: string, state: TargetState): void;
  /** How often the config is checked for added / removed targets. Default 5 s; 0 = only on sync(). */
  pollMs?: number;
  /** Jobs per target at once. Default 2 (1 while the target is down). */
  concurrency?: number;
  /** Wait between probes of a down target. Default 1 s doubling to 30 s. */
  downBackoff?: BackoffRange;
  http?: HttpTargetOptions;
  /**
   * A job that hit a "down" answer this many times while other jobs of the
   * target succeeded (within 10 minutes) is retried with the job backoff
   * instead of holding the head of the queue. Default 10.
   */
  poisonAfterStarts?: number;
  /** Targets with their own ring buffer (a directory with a retention): pruned at most this often, after a copy. Default 60 s. */
  pruneEveryMs?: number;
}

export interface ReplicationWorkers {
  /** Creates / closes workers to match the config's replicas now. */
  sync(): Promise<void>;
  /** Reachability per target, as this process sees it. */
  states(): Record<string, TargetState>;
  /** Queue names consumed now. */
  queues(): string[];
  close(): Promise<void>;
}

interface Running {
  targetId: string;
  worker: Worker<ReplicateJobData, ReplicateResult, typeof REPLICATE_JOB_NAME>;
  queue: ReplicateQueue;
  order: RequeueOrder;
  pendingDelay: number;
}

/**
 * One BullMQ worker per replica target (queue replicate-<target>[-<host>]),
 * following the config as targets come and go. While a target is down its
 * jobs are not failed: the queue is rate-limited (1 s → 30 s between probes)
 * and the jobs go back to wait in their LIFO order, so the newest segment is
 * retried first when the target is back.
 */
export async function startReplicationWorkers(options: ReplicationWorkersOptions): Promise<ReplicationWorkers> {
  const concurrency = options.concurrency ?? 2;
  const poisonAfter = options.poisonAfterStarts ?? 10;
  const running = new Map<string, Running>();
  let closed = false;

  const health = new TargetHealth((id, state) => {
    for (const w of running.values()) if (w.targetId === id) w.worker.concurrency = state.up ? concurrency : 1;
    if (state.up) options.logger.info({ target: id }, `replica "${id}" is reachable again`);
    else options.logger.warn({ target: id }, `replication target down: ${state.lastError}`);
    void recordTargetState(options.redis, options.prefix, id, state).catch(() => {});
    try {
      options.onTargetState?.(id, state);
    } catch (e) {
      options.logger.warn({ err: e }, `onTargetState failed: ${messageOf(e)}`);
    }
  }, options.downBackoff);

  const maybePrune = pruneSchedule(options.pruneEveryMs ?? 60_000, options.logger);

  const ctx: ReplicateContext = {
    getConfig: options.getConfig,
    health,
    logger: options.logger,
    ...(options.http ? { http: options.http } : {}),
    onReplicated: async (target, data, r) => {
      await recordSuccess(options.redis, options.prefix, target.id, data.file).catch(() => {});
      const entry = options.getConfig().replicas.find((x) => x.id === target.id);
      if (entry && (r.outcome === 'copied' || r.outcome === 'already')) await recordUsage(options.redis, options.prefix, entry, data.cameraId, r.outcome, r.bytes).catch(() => {});
      if (r.outcome === 'copied') {
        await incrementCounter(options.redis, options.prefix, `replicate:${target.id}:copied`, 1);
        await incrementCounter(options.redis, options.prefix, `replicate:${target.id}:bytes`, r.bytes);
      }
      void maybePrune(target);
    },
  };

  function start(targetId: string, name: string): Running {
    const queue = createReplicateQueue(options.redis, options.prefix, name);
    const entry: Running = {
      targetId,
      queue,
      pendingDelay: 1000,
      order: new RequeueOrder({
        beforeRelease: () => queue.rateLimit(entry.pendingDelay),
        isBack: async (id) => {
          const s = await queue.getJobState(id);
          return s !== 'active';
        },
      }),
      worker: undefined as unknown as Running['worker'],
    };
    entry.worker = new Worker<ReplicateJobData, ReplicateResult, typeof REPLICATE_JOB_NAME>(
      name,
      async (job: Job<ReplicateJobData, ReplicateResult, typeof REPLICATE_JOB_NAME>) => {
        const id = job.id ?? '';
        entry.order.enter(id, job.data.startMs);
        let parked = false;
        try {
          return await processReplicate(ctx, job.data);
        } catch (e) {
          if (e instanceof TargetDownSignal) {
            // One segment the target keeps refusing with 5xx while others get through must not hold the
            // head of the queue forever: after a few tries it becomes an ordinary retry (backoff, attempts).
            const st = health.get(targetId);
            if (job.attemptsStarted >= poisonAfter && st.lastSuccessMs !== undefined && Date.now() - st.lastSuccessMs < 10 * 60_000) {
              throw new Error(`${e.message} (tried ${job.attemptsStarted} times while other segments got through: retried with backoff)`);
            }
            entry.pendingDelay = e.delayMs;
            options.logger.debug({ target: targetId, jobId: id, retryInMs: e.delayMs }, `replica "${targetId}" down: ${e.message}`);
            parked = true;
            await entry.order.park(id);
            throw Worker.RateLimitError();
          }
          throw e;
        } finally {
          if (!parked) entry.order.leave(id);
        }
      },
      {
        connection: options.blocking,
        prefix: options.prefix,
        concurrency: health.get(targetId).up ? concurrency : 1,
        limiter: REPLICATE_LIMITER,
        lockDuration: 60_000,
      },
    );
    entry.worker.on('error', (e) => options.logger.debug({ err: e }, `replicate worker ${name} error: ${e.message}`));
    entry.worker.on('failed', (job, err) => {
      options.logger.warn({ jobId: job?.id, target: targetId }, `replicate ${job?.data.file} → "${targetId}" failed (attempt ${job?.attemptsMade}): ${err.message}`);
    });
    return entry;
  }

  async function stop(name: string): Promise<void> {
    const r = running.get(name);
    if (!r) return;
    running.delete(name);
    await r.worker.close().catch(() => {});
    await r.queue.close().catch(() => {});
  }

  // Keyed by queue name (it changes with the target id, storage and host); health by target id.
  async function sync(): Promise<void> {
    if (closed) return;
    const config = options.getConfig();
    const want = new Map<string, string>();
    for (const t of config.replicas) {
      want.set(replicateQueueName(t.id, config.storage, options.hostname), t.id);
      registerSecrets(...replicaSecrets(t));
    }
    for (const name of [...running.keys()]) {
      if (!want.has(name)) {
        const id = running.get(name)!.targetId;
        await stop(name);
        if (![...want.values()].includes(id)) health.forget(id);
        options.logger.info({ queue: name }, `replication to "${id}" stopped (no longer configured)`);
      }
    }
    for (const [name, id] of want) {
      if (running.has(name) || closed) continue;
      running.set(name, start(id, name));
      options.logger.info({ queue: name }, `replicating to "${id}" (queue ${name})`);
    }
  }

  await sync();
  const pollMs = options.pollMs ?? 5000;
  let syncing: Promise<void> | undefined;
  const timer =
    pollMs > 0
      ? setInterval(() => {
          syncing ??= sync()
            .catch((e) => options.logger.warn({ err: e }, `replication sync failed: ${messageOf(e)}`))
            .finally(() => (syncing = undefined));
        }, pollMs)
      : undefined;
  timer?.unref();

  return {
    sync: () => (syncing ??= sync().finally(() => (syncing = undefined))),
    states: () => health.all(),
    queues: () => [...running.keys()],
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      await syncing?.catch(() => {});
      await Promise.allSettled([...running.keys()].map((n) => stop(n)));
      // Kept S3 connections would hold the process open after shutdown.
      closeS3Clients();
    },
  };
}
