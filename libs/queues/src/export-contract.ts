// Job contract of the export queue: see ./names.ts for the rule (every queue's names, data, results and ids live in this lib).
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';

/** Queue of export jobs: one camera's segments over a time range, joined into one MP4. */
export const EXPORT_QUEUE = 'export';
export const EXPORT_JOB_NAME = 'export';

export interface ExportJobData {
  cameraId: string;
  /** ISO times (UTC). */
  from: string;
  to: string;
  requestedAt: string;
}

export interface ExportResult {
  /** Relative to recordingsDir: `.exports/<jobId>.mp4` (or `.mov`). */
  file: string;
  bytes: number;
  durationSeconds: number;
  segments: number;
}

/** What `job.updateProgress()` carries for an export job. */
export interface ExportProgress {
  percent: number;
  outTimeSeconds: number;
  totalSeconds: number;
  segments: number;
}

export type ExportQueue = Queue<ExportJobData, ExportResult, string>;

export function createExportQueue(connection: Redis, prefix: string): ExportQueue {
  return new Queue<ExportJobData, ExportResult, string>(EXPORT_QUEUE, { connection, prefix });
}

export const EXPORT_JOB_OPTIONS: JobsOptions = {
  // Retried when a worker shuts down mid-export (or a transient ffmpeg failure).
  attempts: 3,
  backoff: { type: 'fixed', delay: 3000 },
  removeOnComplete: { count: 100, age: 7 * 24 * 3600 },
  removeOnFail: { count: 100 },
};

/** Job ids we hand out are BullMQ's (digits) or ours ([A-Za-z0-9_-]); anything else never names a file. */
export function isExportJobId(id: string): boolean {
  return /^[A-Za-z0-9_-]{1,100}$/.test(id);
}
