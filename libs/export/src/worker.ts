import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RecorderConfig } from '@tapo/config';
import type { Logger } from '@tapo/log';
import type { SegmentIndex } from '@tapo/segment-index';
import { EXPORT_QUEUE, type ExportJobData, type ExportResult } from '@tapo/queues';
import { processExport } from './process.js';

export interface ExportWorker {
  worker: Worker<ExportJobData, ExportResult, string>;
  close(): Promise<void>;
}

export interface ExportWorkerOptions {
  /** Connection for the worker (maxRetriesPerRequest: null). */
  blocking: Redis;
  prefix: string;
  index: SegmentIndex;
  getConfig(): RecorderConfig;
  logger: Logger;
}

/** A worker for the `export` queue, one export at a time. */
export function startExportWorker(opts: ExportWorkerOptions): ExportWorker {
  const deps = { index: opts.index, getConfig: opts.getConfig, logger: opts.logger };
  // On shutdown the running export's ffmpeg is killed: the job fails this attempt
  // and is retried (EXPORT_JOB_OPTIONS) by a worker that stays.
  const stopping = new AbortController();
  const worker = new Worker<ExportJobData, ExportResult, string>(
    EXPORT_QUEUE,
    async (job: Job<ExportJobData, ExportResult, string>) => processExport(deps, job, stopping.signal),
    { connection: opts.blocking, prefix: opts.prefix, concurrency: 1, lockDuration: 60_000 },
  );
  worker.on('error', (e) => opts.logger.debug({ err: e }, `export worker error: ${e.message}`));
  worker.on('failed', (job, err) => opts.logger.warn({ jobId: job?.id }, `export job ${job?.id} failed: ${err.message}`));
  return {
    worker,
    async close() {
      stopping.abort();
      await worker.close();
    },
  };
}
