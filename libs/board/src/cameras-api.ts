import type { Redis } from 'ioredis';
import type { RecorderConfig } from '@tapo/config';
import { redactDeep } from '@tapo/log';
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
}

/** Status of every camera: from the config when the board has one, else from the queue. */
export async function listCameraStatus(
  queue: RecordQueue,
  redis: Redis,
  prefix: string,
  config: RecorderConfig | undefined,
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
    if (job) status.attemptsMade = job.attemptsMade;
    if (job?.failedReason) status.failedReason = job.failedReason;
    out.push(redactDeep(status));
  }
  return out;
}
