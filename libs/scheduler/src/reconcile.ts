import type { Redis } from 'ioredis';
import type { CameraConfig, RecorderConfig } from '@tapo/config';
import { redactUrl, type Logger } from '@tapo/log';
import {
  DESIRED_UPDATED_FIELD,
  RECORD_JOB_NAME,
  RECORD_JOB_OPTIONS,
  cameraIdFromJobId,
  desiredCamerasKey,
  recordJobId,
  settingsFingerprint,
  type RecordJobData,
  type RecordQueue,
} from '@tapo/queues';

export interface ReconcileReport {
  created: string[];
  restarted: string[];
  updated: string[];
  removed: string[];
  ok: string[];
}

/** Job data for a camera: settings only, never the URL. */
export function recordJobData(cam: CameraConfig): RecordJobData {
  return {
    cameraId: cam.id,
    segmentSeconds: cam.segmentSeconds,
    audio: cam.audio,
    settingsHash: settingsFingerprint({
      segmentSeconds: cam.segmentSeconds,
      audio: cam.audio,
      redactedUrl: redactUrl(cam.url),
    }),
  };
}

let reconcileRound = 0;

function settingsHashOf(rawData: string): string | undefined {
  try {
    return (JSON.parse(rawData) as Partial<RecordJobData>).settingsHash;
  } catch {
    return undefined;
  }
}

/** Publishes which cameras should record, with their settings fingerprints. */
export async function publishDesiredCameras(redis: Redis, prefix: string, wanted: RecordJobData[]): Promise<void> {
  const key = desiredCamerasKey(prefix);
  const existing = await redis.hkeys(key);
  const keep = new Set([DESIRED_UPDATED_FIELD, ...wanted.map((w) => w.cameraId)]);
  const stale = existing.filter((f) => !keep.has(f));
  const multi = redis.multi();
  const fields: string[] = [DESIRED_UPDATED_FIELD, String(Date.now())];
  for (const w of wanted) fields.push(w.cameraId, w.settingsHash);
  multi.hset(key, ...fields);
  if (stale.length) multi.hdel(key, ...stale);
  await multi.exec();
}

/**
 * Makes the queue hold exactly one live `record` job per enabled camera
 * (fixed id `record-<camera>`), re-creates jobs that failed or completed,
 * and removes queued jobs of cameras that are gone or disabled (an active one
 * stops itself when it sees the desired-cameras hash). Idempotent, and safe
 * with several schedulers running at once (adding an existing job id is a no-op).
 */
export async function reconcileRecordJobs(
  queue: RecordQueue,
  redis: Redis,
  prefix: string,
  config: RecorderConfig,
  log?: Logger,
): Promise<ReconcileReport> {
  const report: ReconcileReport = { created: [], restarted: [], updated: [], removed: [], ok: [] };
  const wanted = config.cameras.filter((c) => c.enabled).map(recordJobData);
  await publishDesiredCameras(redis, prefix, wanted);

  // Cheap first look, one round trip for all cameras: a live job has its data,
  // no finishedOn, and is in neither the failed nor the completed set. Only the
  // cameras that need something get the full (several round trips) BullMQ look,
  // and every 12th round every camera does (a job in no list at all).
  const fullLook = ++reconcileRound % 12 === 0;
  const pipe = redis.pipeline();
  for (const data of wanted) {
    const id = recordJobId(data.cameraId);
    pipe.hmget(queue.toKey(id), 'data', 'finishedOn');
    pipe.zscore(queue.toKey('failed'), id);
    pipe.zscore(queue.toKey('completed'), id);
  }
  const looks = fullLook ? [] : ((await pipe.exec()) ?? []);

  for (const [i, data] of wanted.entries()) {
    const jobId = recordJobId(data.cameraId);
    const [err, fields] = looks[3 * i] ?? [];
    const inFailed = looks[3 * i + 1]?.[1];
    const inCompleted = looks[3 * i + 2]?.[1];
    if (!err && Array.isArray(fields) && inFailed === null && inCompleted === null) {
      const [rawData, finishedOn] = fields as Array<string | null>;
      if (rawData && !finishedOn && settingsHashOf(rawData) === data.settingsHash) {
        report.ok.push(data.cameraId);
        continue;
      }
    }
    const job = await queue.getJob(jobId);
    if (!job) {
      await queue.add(RECORD_JOB_NAME, data, { ...RECORD_JOB_OPTIONS, jobId });
      report.created.push(data.cameraId);
      continue;
    }
    const state = await job.getState();
    if (state === 'failed' || state === 'completed' || state === 'unknown') {
      // A recording must never stay stopped: replace it.
      try {
        await job.remove();
      } catch (e) {
        log?.debug({ err: e, jobId }, 'remove before re-add failed (another scheduler?)');
      }
      await queue.add(RECORD_JOB_NAME, data, { ...RECORD_JOB_OPTIONS, jobId });
      report.restarted.push(data.cameraId);
      log?.info({ cameraId: data.cameraId, previousState: state }, `record job for ${data.cameraId} was ${state}: re-created`);
      continue;
    }
    if (state !== 'active' && job.data.settingsHash !== data.settingsHash) {
      await job.updateData(data);
      report.updated.push(data.cameraId);
      continue;
    }
    report.ok.push(data.cameraId);
  }

  const wantedIds = new Set(wanted.map((w) => w.cameraId));
  const queued = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'failed'], 0, 10_000);
  for (const job of queued) {
    const cameraId = cameraIdFromJobId(job?.id);
    if (!job || !cameraId || wantedIds.has(cameraId)) continue;
    try {
      await job.remove();
      report.removed.push(cameraId);
      log?.info({ cameraId }, `camera ${cameraId} removed or disabled: its queued record job was removed`);
    } catch (e) {
      log?.debug({ err: e, jobId: job.id }, 'could not remove record job (it became active?)');
    }
  }
  return report;
}
