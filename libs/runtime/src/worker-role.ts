import os from 'node:os';
import path from 'node:path';
import type { RecorderConfig } from '@tapo/config';
import type { Logger } from '@tapo/log';
import { startFileWorkers, verifyAndIndex, isPlayable, type FileWorkers } from '@tapo/maintenance';
import { startExportWorker } from '@tapo/export';
import { VERIFY_JOB_NAME, VERIFY_JOB_OPTIONS, createRedis, verifyJobId, type JobWorkersContext } from '@tapo/queues';
import { startRecordWorker, type RecordWorker } from '@tapo/recorder';
import { startAlerting } from '@tapo/alerts';
import { SegmentIndex } from '@tapo/segment-index';
import { parseSegmentFileName } from '@tapo/storage';
import { enqueueReplicas, replicateQueues, startReplicationWorkers } from '@tapo/replication';

export interface WorkerRole {
  record: RecordWorker;
  files: FileWorkers;
  close(): Promise<void>;
}

/**
 * Everything a worker process does: record cameras, and run the file jobs
 * (verify, repair, prune, scan). Closed segments are verified (box walk) and
 * indexed here; a segment whose ffmpeg died mid-write gets a verify job; disk
 * full triggers an emergency prune at once.
 */
export async function startWorkerRole(o: {
  redisUrl: string;
  prefix: string;
  getConfig(): RecorderConfig;
  logger: Logger;
  hostname?: string;
}): Promise<WorkerRole> {
  const hostname = o.hostname ?? os.hostname();
  const blocking = createRedis(o.redisUrl, { blocking: true, name: `recorder-files-${hostname}` });
  const redis = createRedis(o.redisUrl, { name: `recorder-files-ctl-${hostname}` });
  blocking.on('error', () => {});
  redis.on('error', () => {});
  const ctx: JobWorkersContext = { blocking, redis, prefix: o.prefix, getConfig: o.getConfig, hostname, logger: o.logger };
  const alerting = startAlerting(ctx);
  // Off-site copies: every playable segment gets a replicate job per target (newest first).
  const replicateQueuesByTarget = replicateQueues(redis, o.prefix, o.getConfig().storage, hostname);
  const segIndex = new SegmentIndex(redis, o.prefix);
  /** `known`: what the caller just indexed; otherwise the index says (a segment repaired later). */
  async function replicate(cameraId: string, file: string, host: string, known?: { startMs: number; durationMs: number; bytes: number }): Promise<void> {
    const config = o.getConfig();
    if (config.replicas.length === 0) return;
    try {
      const rec = known ?? (await segIndex.get(cameraId, file));
      await enqueueReplicas({
        queues: (id) => replicateQueuesByTarget.get(id),
        config,
        cameraId,
        segment: { file, startMs: rec?.startMs ?? 0, durationMs: rec?.durationMs ?? 0, bytes: rec?.bytes ?? 0, host },
      });
    } catch (e) {
      o.logger.warn({ err: e, cameraId, file }, `could not enqueue the replicate jobs of ${file}: ${(e as Error).message}`);
    }
  }
  const files = await startFileWorkers({
    ...ctx,
    onEvent: (e) => {
      if (e.type === 'playable') void replicate(e.cameraId, e.file, e.host);
      else alerting.onFileEvent(e);
    },
  });

  const replication = await startReplicationWorkers({
    ...ctx,
    onTargetState: (targetId, state) => alerting.onReplicaState(targetId, state),
  });
  const exportWorker = startExportWorker({ blocking, prefix: o.prefix, index: files.index, getConfig: o.getConfig, logger: o.logger });

  const enqueueVerify = (cameraId: string, file: string, reason: string) =>
    files.repairQueue
      .add(
        VERIFY_JOB_NAME,
        { cameraId, file, host: hostname, reason, reportedAt: new Date().toISOString() },
        { ...VERIFY_JOB_OPTIONS, jobId: verifyJobId(cameraId, path.basename(file)) },
      )
      .catch((e: Error) => o.logger.warn({ err: e, cameraId, file }, 'could not enqueue the verify job'));

  const record = await startRecordWorker({
    redisUrl: o.redisUrl,
    prefix: o.prefix,
    getConfig: o.getConfig,
    logger: o.logger,
    hostname,
    onSegmentClosed: (cameraId, seg) => {
      const config = o.getConfig();
      verifyAndIndex({
        index: files.index,
        recordingsDir: config.recordingsDir,
        cameraId,
        file: seg.file,
        host: hostname,
        durationMs: seg.durationSeconds * 1000,
      })
        .then((c) => {
          if (!isPlayable(c.kind)) void enqueueVerify(cameraId, seg.file, `closed by ffmpeg but ${c.kind}: ${c.reason}`);
          else {
            const startMs = parseSegmentFileName(path.basename(seg.file))?.start.getTime() ?? 0;
            void replicate(cameraId, seg.file, hostname, { startMs, durationMs: seg.durationSeconds * 1000, bytes: c.fileBytes || seg.bytes });
          }
        })
        .catch((e: Error) => o.logger.warn({ err: e, cameraId, file: seg.file }, `cannot index ${seg.file}: ${e.message}`));
    },
    onSegmentInterrupted: (cameraId, seg) => void enqueueVerify(cameraId, seg.file, seg.reason),
    onFailure: (cameraId, kind) => {
      if (kind === 'disk-full') void files.pruneNow(`disk full while recording ${cameraId}`).catch(() => {});
    },
  });

  return {
    record,
    files,
    async close() {
      await record.close();
      await files.close();
      await exportWorker.close();
      await replication.close();
      await replicateQueuesByTarget.close();
      await alerting.close();
      await Promise.allSettled([blocking.quit(), redis.quit()]);
    },
  };
}
