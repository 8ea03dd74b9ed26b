import { createHash } from 'node:crypto';

/**
 * Data of a `record` job. Holds the camera id and its recording settings,
 * never the URL (the worker resolves the URL, with credentials, from its own config).
 */
export interface RecordJobData {
  cameraId: string;
  segmentSeconds: number;
  audio: 'aac' | 'copy' | 'off';
  /** Fingerprint of the settings (and the redacted URL): when it changes the recording restarts. */
  settingsHash: string;
}

export type RecordState = 'starting' | 'recording' | 'reconnecting' | 'auth-failed' | 'stopping' | 'stopped';

/** What the recorder of one camera knows about its ffmpeg (the heartbeat's core). */
export interface RecorderSnapshot {
  state: RecordState;
  ffmpegPid?: number;
  /** When this ffmpeg run started (ISO). */
  runStartedAt?: string;
  /** Output time of the current ffmpeg run, seconds. */
  outTimeSeconds: number;
  frames: number;
  fps: number;
  speed: number;
  /** Bytes written by this job on this worker (closed segments + the current one). */
  bytes: number;
  /** Current segment file, relative to recordingsDir. */
  segment?: string;
  lastSegment?: { file: string; durationSeconds: number; bytes: number; closedAt: string };
  segmentsClosed: number;
  /** Last time ffmpeg's output advanced (ISO). */
  lastProgressAt?: string;
  restarts: number;
  /** Restarts by classified cause (auth, refused, timeout, stall, ...). */
  restartsByReason?: Record<string, number>;
  /** Times the watchdog found ffmpeg stalled. */
  stalls?: number;
  lastError?: string;
  lastErrorAt?: string;
  /** Classified cause of the last failure (auth, not-found, refused, timeout, ...). */
  lastFailure?: string;
  lastStall?: { at: string; reason: string };
}

/** The heartbeat: what `job.updateProgress()` carries for a record job (shown in Bull Board). */
export interface RecordProgress extends RecorderSnapshot {
  cameraId: string;
  /** Hostname and pid of the worker running ffmpeg. */
  host: string;
  workerPid: number;
  /** When the job started on this worker (ISO). */
  jobStartedAt: string;
  /** Heartbeat time (ISO). */
  updatedAt: string;
}

/** The value a record job completes with (it only completes when told to stop). */
export interface RecordResult {
  stoppedBecause: string;
  segmentsClosed: number;
  bytes: number;
}

export function settingsFingerprint(s: {
  segmentSeconds: number;
  audio: string;
  redactedUrl: string;
}): string {
  return createHash('sha256')
    .update(JSON.stringify([s.segmentSeconds, s.audio, s.redactedUrl]))
    .digest('hex')
    .slice(0, 16);
}

/** A segment to verify (and repair if needed): one whose ffmpeg did not close it cleanly. */
export interface VerifyJobData {
  cameraId: string;
  /** Relative to recordingsDir. */
  file: string;
  /** Hostname of the worker that wrote it (where the file is reachable with per-host disks). */
  host: string;
  reason: string;
  reportedAt: string;
  /** A good segment of the same camera (relative to recordingsDir) to rebuild a lost moov from. */
  reference?: string;
}

export type RepairStep = 'trim' | 'remux' | 'faststart' | 'rebuild';

/** One step of the repair chain. */
export interface RepairJobData extends VerifyJobData {
  step: RepairStep;
  /** What the verify step found (classification and reason). */
  found: string;
  /** Steps still to try if this one fails, in order. */
  fallbacks: RepairStep[];
  /** Steps to run after this one succeeds (e.g. remux after trim). */
  then?: RepairStep[];
}

export interface PruneJobData {
  dryRun?: boolean;
  /** Why: "schedule", "emergency: disk full on <camera>", "cli". */
  trigger?: string;
}
