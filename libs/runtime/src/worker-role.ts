import os from 'node:os';
import type { RecorderConfig } from '@tapo/config';
import type { Logger } from '@tapo/log';
import { startFileWorkers, type FileWorkers } from '@tapo/maintenance';
import { startExportWorker } from '@tapo/export';
import { createRedis, enqueueVerify, type JobWorkersContext } from '@tapo/queues';
import { fanOutSegmentEvents, startRecordWorker, type RecordWorker } from '@tapo/recorder';
import { startAlerting } from '@tapo/alerts';
import { LiveFragmentHub } from '@tapo/live-fragments';
import { SegmentIndex } from '@tapo/segment-index';
import { SegmentLifecycle } from '@tapo/segment-lifecycle';
import { replicateQueues, startReplicationWorkers } from '@tapo/replication';
import { replicationConsumer } from './replication-consumer.js';
import { LiveReplication } from './live-replication.js';
import { LiveViewPublisher } from '@tapo/live-view';

export interface WorkerRole {
  record: RecordWorker;
  files: FileWorkers;
  /** The process's one segment index. */
  index: SegmentIndex;
  /** Every segment of this process goes through it (verify → index → consumers). */
  segments: SegmentLifecycle;
  /** The live fragment stream of each camera recorded here. */
  live: LiveFragmentHub;
  /** Live copies of the segments being recorded here, to every target that takes them. */
  liveReplication: LiveReplication;
  close(): Promise<void>;
}

export interface WorkerRoleOptions {
  redisUrl: string;
  prefix: string;
  getConfig(): RecorderConfig;
  logger: Logger;
  hostname?: string;
}

/**
 * The worker process's composition root: records cameras and runs the file
 * jobs (verify, repair, prune, scan), replication, export and alerting. It
 * builds the one segment index and the one segment lifecycle of the process,
 * registers the lifecycle's consumers (replication), and feeds the recorder's
 * segment reports to the lifecycle and to the live fragment streams.
 */
export async function startWorkerRole(opts: WorkerRoleOptions): Promise<WorkerRole> {
  const hostname = opts.hostname ?? os.hostname();
  const blocking = createRedis(opts.redisUrl, { blocking: true, name: `recorder-files-${hostname}` });
  const redis = createRedis(opts.redisUrl, { name: `recorder-files-ctl-${hostname}` });
  blocking.on('error', () => {});
  redis.on('error', () => {});
  const ctx: JobWorkersContext = { blocking, redis, prefix: opts.prefix, getConfig: opts.getConfig, hostname, logger: opts.logger };
  const alerting = startAlerting(ctx);
  const index = new SegmentIndex(redis, opts.prefix);

  // The verify jobs go to the file workers' repair queue; a report before they are up (the startup scan) waits for it.
  let filesStarted!: (f: FileWorkers) => void;
  const filesReady = new Promise<FileWorkers>((resolve) => (filesStarted = resolve));
  const segments = new SegmentLifecycle({
    index,
    recordingsDir: () => opts.getConfig().recordingsDir,
    logger: opts.logger,
    enqueueVerify: async (ref, reason) => void (await enqueueVerify((await filesReady).repairQueue, { ...ref, reason })),
  });
  const replicateQueuesByTarget = replicateQueues(redis, opts.prefix, opts.getConfig().storage, hostname);
  segments.register(replicationConsumer({ queues: replicateQueuesByTarget, getConfig: opts.getConfig }));

  const files = await startFileWorkers({ ...ctx, index, segments, onEvent: (e) => alerting.onFileEvent(e) });
  filesStarted(files);
  const replication = await startReplicationWorkers({
    ...ctx,
    onTargetState: (targetId, state) => alerting.onReplicaState(targetId, state),
  });
  const exportWorker = startExportWorker({ blocking, prefix: opts.prefix, index, getConfig: opts.getConfig, logger: opts.logger });
  const live = new LiveFragmentHub({ logger: opts.logger });
  const liveReplication = new LiveReplication({ hub: live, getConfig: opts.getConfig, logger: opts.logger, redis, prefix: opts.prefix });
  // live view: fragments of the cameras recorded here go to Redis while a board says somebody watches
  const liveViewSub = createRedis(opts.redisUrl, { name: `recorder-live-view-${hostname}` });
  liveViewSub.on('error', () => {});
  const liveView = new LiveViewPublisher({ hub: live, redis, subscriber: liveViewSub, prefix: opts.prefix, source: `${hostname}:${process.pid}`, logger: opts.logger });

  const warn = (what: string, cameraId: string, file: string) => (e: Error) =>
    opts.logger.warn({ err: e, cameraId, file }, `${what} ${file}: ${e.message}`);
  const lifecycleEvents = {
    closed: (cameraId: string, seg: { file: string; durationSeconds: number; bytes: number }) =>
      void segments.closed({ cameraId, file: seg.file, host: hostname, durationMs: seg.durationSeconds * 1000, bytes: seg.bytes }).catch(warn('cannot index', cameraId, seg.file)),
    interrupted: (cameraId: string, seg: { file: string; reason: string }) =>
      void segments.interrupted({ cameraId, file: seg.file, host: hostname }, seg.reason).catch(warn('could not enqueue the verify job of', cameraId, seg.file)),
  };

  const record = await startRecordWorker({
    redisUrl: opts.redisUrl,
    prefix: opts.prefix,
    getConfig: opts.getConfig,
    logger: opts.logger,
    hostname,
    segments: fanOutSegmentEvents(lifecycleEvents, live.segmentEvents, liveReplication.segmentEvents),
    onFailure: (cameraId, kind) => {
      if (kind === 'disk-full') void files.pruneNow(`disk full while recording ${cameraId}`).catch(() => {});
    },
  });

  return {
    record,
    files,
    index,
    segments,
    live,
    liveReplication,
    async close() {
      await record.close();
      await liveView.close();
      await liveReplication.close();
      await live.close();
      await files.close();
      await exportWorker.close();
      await replication.close();
      await replicateQueuesByTarget.close();
      await alerting.close();
      await Promise.allSettled([blocking.quit(), redis.quit()]);
    },
  };
}
