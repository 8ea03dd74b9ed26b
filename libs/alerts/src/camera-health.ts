import type { AlertEvent } from '@tapo/queues';
import { formatUtcTime } from './format-units.js';

/**
 * What the alerts care about in a camera: online (video advancing), offline,
 * auth-failing (offline because the camera rejects the credentials), or
 * unknown (not seen recording since watching started).
 */
export type CameraHealthState = 'online' | 'offline' | 'auth-failing' | 'unknown';

/** The part of a record job's heartbeat (RecordProgress) the health check reads. */
export interface CameraProgress {
  /** The recorder's state (recording, reconnecting, auth-failed, ...). */
  state: string;
  /** Last time ffmpeg's output advanced (ISO). */
  lastProgressAt?: string;
  /** Heartbeat time (ISO): old means the worker is gone. */
  updatedAt?: string;
  lastError?: string;
  /** When lastError happened (ISO); an error older than the last video is history, not the cause. */
  lastErrorAt?: string;
  /** Classified cause of the last failure (auth, timeout, ...). It stays after a recovery. */
  lastFailure?: string;
}

/** What the monitor remembers about a camera between two checks. */
export interface CameraHealthMemory {
  state: CameraHealthState;
  /** Newest video time seen (ms), kept across progress resets and restarts. */
  lastVideoMs?: number;
  /** While offline or auth-failing: since when there has been no video (ms); the outage counts from here. */
  noVideoSinceMs?: number;
  /** When the monitor started watching this camera (ms): silence before any video counts from here. */
  watchingSinceMs: number;
}

export interface CameraHealthInput {
  cameraId: string;
  enabled: boolean;
  progress?: CameraProgress;
  nowMs: number;
  offlineAfterSeconds: number;
  previous: CameraHealthMemory;
}

export interface CameraHealthDecision {
  next: CameraHealthMemory;
  /** The alert this change is worth, if any. */
  event?: AlertEvent;
}

function parseMs(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

const seconds = (ms: number) => Math.max(0, Math.round(ms / 1000));

/**
 * Decides a camera's health from its heartbeat. Pure.
 *
 * - online: the video advanced within offlineAfterSeconds and the heartbeat
 *   is not older than that. From offline/auth-failing this raises
 *   "camera-back" (outage from the last video before the outage to now);
 *   from unknown it is silent.
 * - offline: no video for offlineAfterSeconds, counted from the last video
 *   seen or, if none, from when watching started (so a camera the monitor
 *   has just met gets that long to start); also when the heartbeat stopped
 *   (the worker is gone). Raises "camera-offline".
 * - auth-failing: offline while the live recorder reports an auth failure;
 *   raises "auth-failing" instead of "camera-offline" (also when an offline
 *   camera turns out to be failing auth). Going from auth-failing to a plain
 *   offline is silent: the operator already knows it is down.
 * - a disabled camera is not watched: unknown, silent.
 */
export function decideCameraHealth(input: CameraHealthInput): CameraHealthDecision {
  const { previous: prev, nowMs: now, progress: p, cameraId } = input;
  if (!input.enabled) return { next: { state: 'unknown', watchingSinceMs: now } };
  const limitMs = input.offlineAfterSeconds * 1000;
  const at = new Date(now).toISOString();
  const progressMs = parseMs(p?.lastProgressAt);
  const heartbeatMs = parseMs(p?.updatedAt);
  const known = [progressMs, prev.lastVideoMs].filter((v): v is number => v !== undefined);
  const lastVideoMs = known.length > 0 ? Math.max(...known) : undefined;
  const heartbeatStale = heartbeatMs !== undefined && now - heartbeatMs >= limitMs;
  const base: CameraHealthMemory = { state: prev.state, watchingSinceMs: prev.watchingSinceMs, ...(lastVideoMs !== undefined ? { lastVideoMs } : {}) };
  const wasDown = prev.state === 'offline' || prev.state === 'auth-failing';

  if (progressMs !== undefined && now - progressMs < limitMs && !heartbeatStale) {
    const next: CameraHealthMemory = { ...base, state: 'online' };
    if (!wasDown) return { next };
    const from = prev.noVideoSinceMs ?? prev.lastVideoMs ?? prev.watchingSinceMs;
    return { next, event: { type: 'camera-back', cameraId, at, details: { outageSeconds: seconds(now - from) } } };
  }

  const quietSinceMs = Math.max(lastVideoMs ?? -Infinity, prev.watchingSinceMs);
  const down = now - quietSinceMs >= limitMs || (heartbeatStale && now - prev.watchingSinceMs >= limitMs);
  const noVideoSinceMs = (wasDown ? prev.noVideoSinceMs : undefined) ?? lastVideoMs ?? prev.watchingSinceMs;
  if (!down) return { next: { ...base, ...(wasDown ? { noVideoSinceMs } : {}) } };

  const errorAtMs = parseMs(p?.lastErrorAt);
  const errorIsCurrent = errorAtMs === undefined || lastVideoMs === undefined || errorAtMs >= lastVideoMs;
  const auth = p !== undefined && !heartbeatStale && (p.state === 'auth-failed' || (p.lastFailure === 'auth' && errorIsCurrent));
  const next: CameraHealthMemory = { ...base, state: auth ? 'auth-failing' : 'offline', noVideoSinceMs };
  if (next.state === prev.state || (prev.state === 'auth-failing' && next.state === 'offline')) return { next };

  const lastVideoAt = lastVideoMs !== undefined ? { lastVideoAt: new Date(lastVideoMs).toISOString() } : {};
  if (auth) {
    const message = (errorIsCurrent ? p.lastError : undefined) ?? 'the camera rejects the user name or password';
    return { next, event: { type: 'auth-failing', cameraId, at, details: { message, ...lastVideoAt } } };
  }
  let reason: string;
  if (!p) reason = 'no recording job is reporting';
  else if (heartbeatStale) reason = `the worker stopped reporting (last heartbeat ${formatUtcTime(p.updatedAt ?? '', at)})`;
  else reason = (errorIsCurrent ? p.lastError : undefined) ?? `the video stopped advancing (recorder ${p.state})`;
  return { next, event: { type: 'camera-offline', cameraId, at, details: { offlineForSeconds: seconds(now - noVideoSinceMs), reason, ...lastVideoAt } } };
}
