import type { RecorderConfig } from '@tapo/config';
import { redactText, type Logger } from '@tapo/log';
import { alertSubject } from '@tapo/queues';
import type { Alerter, StoredAlertState } from './raise-alerts.js';
import { decideCameraHealth, type CameraHealthMemory, type CameraHealthState, type CameraProgress } from './camera-health.js';

export interface CameraHealthCheckOptions {
  alerter: Alerter;
  getConfig(): RecorderConfig;
  /** Each camera's heartbeat (undefined or absent: no record job reports). */
  readProgress(): Promise<Map<string, CameraProgress | undefined>>;
  logger: Logger;
  /** Clock (tests). */
  now?: () => number;
}

export interface CameraHealthMonitorOptions extends CameraHealthCheckOptions {
  everyMs?: number;
}

/** Subject of a camera in the alert state. */
export function cameraSubject(cameraId: string): string {
  return alertSubject({ cameraId });
}

function parseMs(iso: string | undefined): number | undefined {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

function storedHealth(s: StoredAlertState | undefined): CameraHealthState {
  return s?.state === 'online' || s?.state === 'offline' || s?.state === 'auth-failing' ? s.state : 'unknown';
}

function toData(m: CameraHealthMemory): Record<string, string> {
  const data: Record<string, string> = {};
  if (m.lastVideoMs !== undefined) data.lastVideoAt = new Date(m.lastVideoMs).toISOString();
  if (m.noVideoSinceMs !== undefined && m.state !== 'online') data.noVideoSince = new Date(m.noVideoSinceMs).toISOString();
  return data;
}

/**
 * One check of every camera: reads the heartbeats and the shared state
 * (`<prefix>:alert-state`), decides, and records changes through
 * Alerter.transition (which speaks once, whichever process sees it first).
 * The state carries lastVideoAt/noVideoSince, so a restarted process does not
 * resend "offline" and still knows how long the outage was.
 */
export function createCameraHealthCheck(opts: CameraHealthCheckOptions): () => Promise<void> {
  const clock = opts.now ?? Date.now;
  /** Per camera: when this process started watching it, and the newest video seen. */
  const memory = new Map<string, { watchingSinceMs: number; lastVideoMs?: number }>();

  return async function check(): Promise<void> {
    const config = opts.getConfig();
    const now = clock();
    const [progress, stored] = await Promise.all([opts.readProgress(), opts.alerter.readStates()]);
    const watched = new Set<string>();
    for (const cam of config.cameras) {
      if (!cam.enabled) continue;
      const subject = cameraSubject(cam.id);
      watched.add(subject);
      let mem = memory.get(cam.id);
      if (!mem) memory.set(cam.id, (mem = { watchingSinceMs: now }));
      const s = stored.get(subject);
      const remembered = [mem.lastVideoMs, parseMs(s?.data.lastVideoAt)].filter((v): v is number => v !== undefined);
      const previous: CameraHealthMemory = {
        state: storedHealth(s),
        watchingSinceMs: mem.watchingSinceMs,
        ...(remembered.length > 0 ? { lastVideoMs: Math.max(...remembered) } : {}),
      };
      const noVideoSinceMs = parseMs(s?.data.noVideoSince);
      if (noVideoSinceMs !== undefined) previous.noVideoSinceMs = noVideoSinceMs;
      const d = decideCameraHealth({
        cameraId: cam.id,
        enabled: true,
        progress: progress.get(cam.id),
        nowMs: now,
        offlineAfterSeconds: config.alerts.offlineAfterSeconds,
        previous,
      });
      if (d.next.lastVideoMs !== undefined) mem.lastVideoMs = d.next.lastVideoMs;
      if (d.next.state !== previous.state) await opts.alerter.transition(subject, d.next.state, d.event, toData(d.next));
    }
    // Cameras removed or disabled: forget them (nothing more is said; a "back" would only confuse).
    const gone = [...stored.keys()].filter((s) => s.startsWith('camera:') && !watched.has(s));
    if (gone.length > 0) await opts.alerter.forget(...gone);
    for (const id of memory.keys()) if (!watched.has(cameraSubject(id))) memory.delete(id);
  };
}

/** Checks every camera's health every `everyMs` (first check at once) until stop(). */
export function startCameraHealthMonitor(opts: CameraHealthMonitorOptions): { stop(): Promise<void> } {
  const check = createCameraHealthCheck(opts);
  const everyMs = opts.everyMs ?? 2000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let lastProblem = '';

  const tick = async () => {
    running = check().then(
      () => {
        lastProblem = '';
      },
      (e: unknown) => {
        const msg = redactText((e as Error)?.message ?? String(e));
        // Once at warn per distinct problem (Redis down would otherwise log every tick).
        if (msg !== lastProblem) opts.logger.warn(`camera health check failed: ${msg}`);
        else opts.logger.debug(`camera health check failed: ${msg}`);
        lastProblem = msg;
      },
    );
    await running;
    running = undefined;
    if (!stopped) {
      timer = setTimeout(tick, everyMs);
      timer.unref();
    }
  };
  void tick();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
