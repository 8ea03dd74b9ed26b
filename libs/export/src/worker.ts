import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RecorderConfig } from '@tapo/config';
import type { Logger } from '@tapo/log';
import type { SegmentIndex } from '@tapo/segment-index';
import { EXPORT_QUEUE, type ExportJobData, type ExportResult } from './contract.js';
import { processExport } from './process.js';

export interface ExportWorker {
  worker: Worker<ExportJobData, ExportResult, string>;
  close(): Promise<void>;
}

/** A worker for the `export` queue, one export at a time. */
export function startExportWorker(o: {
  blocking: Redis;
  prefix: string;
  index: SegmentIndex;
  getConfig(): RecorderConfig;
  logger: Logger;
}): ExportWorker {
  const deps = { index: o.index, getConfig: o.getConfig, logger: o.logger };
  // On shutdown the running export's ffmpeg is killed: the job fails this attempt
  // and is retried (EXPORT_JOB_OPTIONS) by a worker that stays.
  const stopping = new AbortController();
  const worker = new Worker<ExportJobData, ExportResult, string>(
    EXPORT_QUEUE,
    async (job: Job<ExportJobData, ExportResult, string>) => processExport(deps, job, stopping.signal),
    { connection: o.blocking, prefix: o.prefix, concurrency: 1, lockDuration: 60_000 },
  );
  worker.on('error', (e) => o.logger.debug({ err: e }, `export worker error: ${e.message}`));
  worker.on('failed', (job, err) => o.logger.warn({ jobId: job?.id }, `export job ${job?.id} failed: ${err.message}`));
  return {
    worker,
    async close() {
      stopping.abort();
      await worker.close();
    },
  };
}
