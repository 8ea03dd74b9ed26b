import type { Redis } from 'ioredis';
import type { RecorderConfig } from '@tapo/config';
import { redactDeep } from '@tapo/log';
import type { SegmentIndex } from '@tapo/segment-index';
import {
  DESIRED_UPDATED_FIELD,
  cameraIdFromJobId,
  desiredCamerasKey,
  recordJobId,
  type RecordProgress,
  type RecordQueue,
} from '@tapo/queues';

export interface CameraStatus {
  id: string;
  name?: string;
  enabled: boolean;
  /** BullMQ state of the record job, or "missing". */
  jobState: string;
  jobId: string;
  /** recording / reconnecting / auth-failed / ... from the heartbeat; "disabled" or "queued" otherwise. */
  state: string;
  progress?: RecordProgress;
  /** Seconds since the last heartbeat. */
  heartbeatAgeSeconds?: number;
  attemptsMade?: number;
  failedReason?: string;
  /** Worker host recording it (from the heartbeat). */
  host?: string;
  /** Seconds since the current ffmpeg run started (while recording). */
  uptimeSeconds?: number;
  /** Bits per second of the last closed segment (else of the current run). */
  bitrateBps?: number;
  fps?: number;
  /** When the newest segment closed (heartbeat) or ended (index), ISO. */
  lastSegmentAt?: string;
  /** Bytes of the camera's indexed segments on disk, and their count. */
  diskBytes?: number;
  segmentCount?: number;
  lastError?: string;
}

/** Status of every camera: from the config when the board has one, else from the queue. */
export async function listCameraStatus(
  queue: RecordQueue,
  redis: Redis,
  prefix: string,
  config: RecorderConfig | undefined,
  index?: SegmentIndex,
): Promise<CameraStatus[]> {
  const ids = new Map<string, { enabled: boolean; name?: string }>();
  for (const c of config?.cameras ?? []) ids.set(c.id, { enabled: c.enabled, ...(c.name ? { name: c.name } : {}) });
  if (!config) {
    const desired = await redis.hkeys(desiredCamerasKey(prefix));
    for (const id of desired) if (id !== DESIRED_UPDATED_FIELD) ids.set(id, { enabled: true });
    const jobs = await queue.getJobs(['active', 'waiting', 'delayed', 'failed', 'prioritized'], 0, 1000);
    for (const j of jobs) {
      const id = cameraIdFromJobId(j?.id);
      if (id && !ids.has(id)) ids.set(id, { enabled: true });
    }
  }
  const out: CameraStatus[] = [];
  for (const [id, meta] of [...ids.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const jobId = recordJobId(id);
    const job = await queue.getJob(jobId);
    const jobState = job ? await job.getState() : 'missing';
    const progress = job && typeof job.progress === 'object' ? (job.progress as unknown as RecordProgress) : undefined;
    let state: string;
    if (!meta.enabled) state = 'disabled';
    else if (jobState === 'active' && progress?.state) state = progress.state;
    else if (jobState === 'failed') state = 'failed';
    else if (jobState === 'missing') state = 'not scheduled';
    else state = 'queued';
    const status: CameraStatus = { id, enabled: meta.enabled, jobState, jobId, state };
    if (meta.name) status.name = meta.name;
    if (progress) {
      status.progress = progress;
      if (progress.updatedAt) status.heartbeatAgeSeconds = Math.round((Date.now() - Date.parse(progress.updatedAt)) / 100) / 10;
    }
    if (progress && jobState === 'active') {
      if (progress.host) status.host = progress.host;
      if (typeof progress.fps === 'number') status.fps = progress.fps;
      if (progress.runStartedAt && progress.state === 'recording') {
        status.uptimeSeconds = Math.max(0, Math.round((Date.now() - Date.parse(progress.runStartedAt)) / 1000));
      }
      const ls = progress.lastSegment;
      if (ls && ls.durationSeconds > 0) status.bitrateBps = Math.round((ls.bytes * 8) / ls.durationSeconds);
      else if (progress.outTimeSeconds > 0 && progress.restarts === 0) status.bitrateBps = Math.round((progress.bytes * 8) / progress.outTimeSeconds);
      if (ls?.closedAt) status.lastSegmentAt = ls.closedAt;
    }
    if (progress?.lastError && status.state !== 'recording') status.lastError = progress.lastError;
    if (index) {
      const st = await index.stats(id);
      status.diskBytes = st.bytes;
      status.segmentCount = st.count;
      if (!status.lastSegmentAt && st.newestMs !== undefined) {
        const newest = await index.range(id, st.newestMs, st.newestMs);
        const last = newest.at(-1);
        status.lastSegmentAt = new Date(st.newestMs + (last?.durationMs ?? 0)).toISOString();
      }
    }
    if (job) status.attemptsMade = job.attemptsMade;
    if (job?.failedReason) status.failedReason = job.failedReason;
    out.push(redactDeep(status));
  }
  return out;
}
