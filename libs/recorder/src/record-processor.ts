import os from 'node:os';
import { WaitingError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CameraConfig, RecorderConfig } from '@tapo/config';
import { redactText, type Logger } from '@tapo/log';
import {
  RECORD_QUEUE,
  type RecordJobData,
  type RecordProgress,
  type RecordResult,
} from '@tapo/queues';
import { CameraRecorder } from './camera-recorder.js';
import type { SegmentEvents } from './segment-events.js';
import { WriterLease } from './writer-lease.js';
import { sendHeartbeat } from './heartbeat-script.js';

/** Why a recording stopped; set as the abort reason of the job's signal. */
export type StopReason = 'shutdown' | 'lock-lost' | 'camera-removed' | 'settings-changed' | string;

export interface RecordProcessorDeps {
  /** The worker's current config (the URL with credentials comes from here, never from the job). */
  getConfig(): RecorderConfig;
  /** A non-blocking Redis connection for the desired-cameras check. */
  redis: Redis;
  prefix: string;
  logger: Logger;
  hostname?: string;
  /** Heartbeat interval (progress, writer lease, desired check: one Redis call). Default 5000 ms. */
  heartbeatMs?: number;
  ffmpegPath?: string;
  authRetryMs?: number;
  /** Where opened / closed / interrupted files are reported (the composition root's segment lifecycle and live fragments). */
  segments?: SegmentEvents;
  onFailure?(cameraId: string, kind: string, message: string): void;
  /** Live recorders by job id, for the worker's own bookkeeping and tests. */
  active?: Map<string, CameraRecorder>;
  /** Lock tokens of the jobs being processed (to re-take a lock after a Redis outage). */
  tokens?: Map<string, string>;
  /** TTL of the per-camera writer lease; the worker's lockDuration. */
  leaseTtlMs?: number;
}

/** Job logs are capped (keepLogs) but each line is a Redis call: log events, not chatter. */
async function jobLog(job: Job, line: string): Promise<void> {
  try {
    await job.log(`${new Date().toISOString()} ${redactText(line)}`);
  } catch {
    /* Redis unreachable: the pino log has it */
  }
}

function findCamera(config: RecorderConfig, cameraId: string): CameraConfig {
  const cam = config.cameras.find((c) => c.id === cameraId);
  if (!cam) {
    throw new Error(
      `camera "${cameraId}" is not in this worker's config (${config.file}); every worker needs the same cameras file`,
    );
  }
  return cam;
}

/**
 * The BullMQ processor of `record` jobs. It never returns while the camera
 * should be recorded; it returns (completes) when the camera was removed or
 * its settings changed, and hands the job back to the queue on shutdown.
 * Declared with three parameters so that BullMQ passes the AbortSignal.
 */
export function createRecordProcessor(deps: RecordProcessorDeps) {
  const host = deps.hostname ?? os.hostname();
  const heartbeatMs = deps.heartbeatMs ?? 5000;

  return async function processRecordJob(
    job: Job<RecordJobData, RecordResult>,
    token: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<RecordResult> {
    const { cameraId } = job.data;
    const log = deps.logger.child({ cameraId, jobId: job.id });
    const stop = new AbortController();
    const onOuterAbort = () => stop.abort(signal?.reason ?? 'cancelled');
    if (signal?.aborted) onOuterAbort();
    signal?.addEventListener('abort', onOuterAbort, { once: true });

    const config = deps.getConfig();
    // Fail fast (with a clear error, retried with backoff) when this worker cannot record the camera.
    findCamera(config, cameraId);
    const jobStartedAt = new Date().toISOString();

    const recorder = new CameraRecorder({
      cameraId,
      resolveCamera: () => {
        const cam = findCamera(deps.getConfig(), cameraId);
        return { ...cam, segmentSeconds: job.data.segmentSeconds, audio: job.data.audio };
      },
      recordingsDir: config.recordingsDir,
      stallTimeoutSeconds: config.stallTimeoutSeconds,
      logger: log,
      ...(deps.ffmpegPath ? { ffmpegPath: deps.ffmpegPath } : {}),
      ...(deps.authRetryMs !== undefined ? { authRetryMs: deps.authRetryMs } : {}),
      onStateChange: (state, reason) => {
        void jobLog(job, `state: ${state}${reason ? ` (${reason})` : ''}`);
        void heartbeat();
      },
      onSegmentOpened: (seg) => deps.segments?.opened?.(cameraId, seg),
      onSegmentClosed: (seg) => {
        void jobLog(
          job,
          `segment closed: ${seg.file} start=${seg.startSeconds.toFixed(3)} end=${seg.endSeconds.toFixed(3)} duration=${seg.durationSeconds.toFixed(3)}s bytes=${seg.bytes}`,
        );
        deps.segments?.closed?.(cameraId, seg);
      },
      onSegmentInterrupted: (seg) => {
        void jobLog(job, `segment interrupted: ${seg.file} (${seg.reason}); it is playable up to its last fragment`);
        deps.segments?.interrupted?.(cameraId, seg);
      },
      onFfmpegMessage: (line) => void jobLog(job, `ffmpeg: ${line}`),
      onStall: (why) => void jobLog(job, `ffmpeg stalled (${why}): killed, restarting`),
      onFailure: (kind, message) => deps.onFailure?.(cameraId, kind, message),
    });
    deps.active?.set(String(job.id), recorder);
    if (token) deps.tokens?.set(String(job.id), token);
    const leaseTtlMs = deps.leaseTtlMs ?? 10_000;
    const lease = new WriterLease({
      redis: deps.redis,
      prefix: deps.prefix,
      cameraId,
      token: token ?? '',
      where: `${host}:${process.pid}`,
      ttlMs: leaseTtlMs,
    });

    // The heartbeat: progress + writer lease + desired-cameras verdict in one Redis round trip.
    const beatTarget = {
      prefix: deps.prefix,
      queueName: RECORD_QUEUE,
      jobId: String(job.id),
      cameraId,
      settingsHash: job.data.settingsHash,
      token: token ?? '',
      owner: lease.owner,
      ttlMs: leaseTtlMs,
    };
    let leaseHeld = false;
    let beating = false;
    let beatAgain = false;
    async function heartbeat(): Promise<void> {
      // One update in flight at a time; a state change during it triggers one more.
      if (beating) {
        beatAgain = true;
        return;
      }
      beating = true;
      try {
        do {
          beatAgain = false;
          const snap = await recorder.snapshot();
          const progress: RecordProgress = {
            ...snap,
            cameraId,
            host,
            workerPid: process.pid,
            jobStartedAt,
            updatedAt: new Date().toISOString(),
          };
          const renew = leaseHeld && !stop.signal.aborted;
          const r = await sendHeartbeat(deps.redis, beatTarget, JSON.stringify(progress), renew);
          if (stop.signal.aborted) continue;
          if (renew && r.lease === 'lost') {
            log.error(`camera ${cameraId}: another recorder owns this camera now (writer lease lost): stopping ffmpeg`);
            stop.abort('lock-lost');
          } else if (r.desired !== 'keep') {
            log.info({ verdict: r.desired }, `stopping recording of ${cameraId}: ${r.desired}`);
            stop.abort(r.desired);
          }
        } while (beatAgain);
      } catch (e) {
        /* Redis unreachable: keep recording; resolved when it is back */
        log.debug({ err: e }, 'heartbeat failed');
      } finally {
        beating = false;
      }
    }
    const timer = setInterval(() => void heartbeat(), heartbeatMs);

    let reason: unknown;
    try {
      // Never two ffmpegs per camera: wait for the previous recorder (if any) to let go.
      leaseHeld = await lease.acquire(stop.signal, (holder) => {
        log.warn({ holder }, `camera ${cameraId}: waiting for the previous recorder (${holder}) to stop`);
        void jobLog(job, `waiting for the previous recorder (${holder}) to stop`);
      });
      if (leaseHeld) {
        void jobLog(job, `recording on ${host} (worker pid ${process.pid})`);
        reason = await recorder.run(stop.signal);
      } else {
        reason = stop.signal.reason;
      }
    } finally {
      clearInterval(timer);
      signal?.removeEventListener('abort', onOuterAbort);
      deps.active?.delete(String(job.id));
      deps.tokens?.delete(String(job.id));
      if (leaseHeld) await lease.release();
    }
    const snap = await recorder.snapshot();
    log.info({ reason }, `recording of ${cameraId} stopped`);

    if (reason === 'shutdown') {
      // Hand the job back without spending an attempt, so another worker takes it at once.
      await jobLog(job, `worker ${host} shutting down: job handed back to the queue`);
      await heartbeat();
      if (token) await job.moveToWait(token);
      throw new WaitingError();
    }
    if (reason === 'lock-lost') {
      throw new Error(`worker ${host} lost the lock of ${job.id}; ffmpeg stopped so that only one recorder writes ${cameraId}`);
    }
    await jobLog(job, `recording stopped: ${String(reason)}`);
    await heartbeat();
    return { stoppedBecause: String(reason), segmentsClosed: snap.segmentsClosed, bytes: snap.bytes };
  };
}
