/** Queue names (every queue also carries the install's prefix, RECORDER_QUEUE_PREFIX). */
export const RECORD_QUEUE = 'record';
/** Follow-up work on segment files: verify them, and repair the broken ones. */
export const REPAIR_QUEUE = 'repair';
export const VERIFY_JOB_NAME = 'verify';
export const REPAIR_JOB_NAME = 'repair';
/** Housekeeping: prune (the ring buffer), scan (index files missing from the index), rescan. */
export const MAINTENANCE_QUEUE = 'maintenance';
export const PRUNE_JOB_NAME = 'prune';
export const SCAN_JOB_NAME = 'scan';
export const PRUNE_SCHEDULER_ID = 'prune-every';

/**
 * Queues for jobs that touch files. With a shared recordings volume any worker
 * may run them (one queue); with per-host disks (storage: local) each host has
 * its own queue, `<name>-<host>`, consumed only by that host's workers.
 */
export function fileQueueName(base: string, storage: 'shared' | 'local', host: string): string {
  return storage === 'local' ? `${base}-${host.replace(/[^A-Za-z0-9_.-]/g, '_')}` : base;
}

/** Job name of the one long-lived recording job per camera. */
export const RECORD_JOB_NAME = 'record';

/** Fixed id of a camera's record job. BullMQ ids must not contain ':' nor be integers. */
export function recordJobId(cameraId: string): string {
  return `record-${cameraId}`;
}

export function cameraIdFromJobId(jobId: string | undefined): string | undefined {
  return jobId?.startsWith('record-') ? jobId.slice('record-'.length) : undefined;
}

/**
 * Redis hash `<prefix>:desired-cameras`: cameraId → settings fingerprint, written
 * by the scheduler. A recording whose camera is missing from it (or whose
 * fingerprint differs) stops and completes; the scheduler then re-creates it if
 * needed. The hash always holds `__updated` so that "no cameras" is distinct
 * from "never written" (then nothing is stopped).
 */
export function desiredCamerasKey(prefix: string): string {
  return `${prefix}:desired-cameras`;
}
export const DESIRED_UPDATED_FIELD = '__updated';

/** Id of the verify job for one segment file (idempotent per file). */
export function verifyJobId(cameraId: string, fileName: string): string {
  return `verify-${cameraId}-${fileName.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/**
 * Off-site copies: one queue per replica target (`replicate-<target>`, and
 * `replicate-<target>-<host>` with storage: local, since the file must be read
 * on the host that wrote it), so that a target that is down pauses only its
 * own queue. Jobs are added LIFO: newest segments first.
 */
export const REPLICATE_JOB_NAME = 'replicate';
export function replicateQueueName(targetId: string, storage: 'shared' | 'local', host: string): string {
  return fileQueueName(`replicate-${targetId}`, storage, host);
}
/** Id of the replicate job of one segment for one target (idempotent per file and target). */
export function replicateJobId(targetId: string, cameraId: string, fileName: string): string {
  return `replicate-${targetId}-${cameraId}-${fileName.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/** Alert messages, one `notify` job per message and alert target. */
export const NOTIFY_QUEUE = 'notify';
export const NOTIFY_JOB_NAME = 'notify';
