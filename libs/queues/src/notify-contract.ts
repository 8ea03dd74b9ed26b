// Job contract of the notify queue: see ./names.ts for the rule (every queue's names, data, results and ids live in this lib).
// The queue and job names (NOTIFY_QUEUE, NOTIFY_JOB_NAME) are in ./names.ts.
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AlertEventType } from '@tapo/config';
import { NOTIFY_QUEUE, type NOTIFY_JOB_NAME } from './names.js';

/** Disk events: the recordings filesystem. */
export interface DiskDetails {
  usedPercent: number;
  freeBytes: number;
  /** emergency-prune: segments deleted to make room. */
  deletedSegments?: number;
}

/** The fields of each event type. */
export interface AlertDetailsByType {
  'camera-offline': {
    /** Last time the camera's video advanced (absent: none seen). */
    lastVideoAt?: string;
    offlineForSeconds: number;
    reason?: string;
  };
  'camera-back': { outageSeconds: number };
  'auth-failing': { message: string; lastVideoAt?: string };
  'disk-nearly-full': DiskDetails;
  'emergency-prune': DiskDetails;
  'replica-unreachable': { downForSeconds: number; lastError: string };
  'replica-back': { downForSeconds: number };
  'segment-unrecoverable': { file: string; reason: string };
}

/** One thing worth telling the operator about (what a `notify` job carries). */
export type AlertEvent = {
  [K in AlertEventType]: {
    type: K;
    cameraId?: string;
    replicaId?: string;
    /** When it happened (ISO). */
    at: string;
    details: AlertDetailsByType[K];
  };
}[AlertEventType];

/** What an event is about: `camera:<id>`, `replica:<id>` or `install`. */
export function alertSubject(event: Pick<AlertEvent, 'cameraId' | 'replicaId'>): string {
  if (event.cameraId) return `camera:${event.cameraId}`;
  if (event.replicaId) return `replica:${event.replicaId}`;
  return 'install';
}

/**
 * Data of a `notify` job: which target, and what happened. Never the target's
 * URL or headers (they may hold secrets): the processor reads them from the
 * live config.
 */
export interface NotifyJobData {
  targetId: string;
  event: AlertEvent;
}

export type NotifyResult =
  | { targetId: string; outcome: 'delivered'; status: number }
  /** The target is no longer in the config: nothing to do. */
  | { targetId: string; outcome: 'target removed' };

export type NotifyQueue = Queue<NotifyJobData, NotifyResult, typeof NOTIFY_JOB_NAME>;

export function createNotifyQueue(connection: Redis, prefix: string): NotifyQueue {
  return new Queue<NotifyJobData, NotifyResult, typeof NOTIFY_JOB_NAME>(NOTIFY_QUEUE, { connection, prefix });
}

const DAY_SECONDS = 24 * 3600;

/** A target that is down is retried for about 4 minutes (2 s, 4 s, ... 128 s). */
export const NOTIFY_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 7 * DAY_SECONDS, count: 1000 },
  removeOnFail: { age: 7 * DAY_SECONDS },
};

/** Job id of one event for one target: the same event raised twice is queued once. */
export function notifyJobId(targetId: string, event: AlertEvent): string {
  const ms = Date.parse(event.at);
  return `notify-${targetId}-${alertSubject(event)}-${event.type}-${Number.isNaN(ms) ? event.at : ms}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}
