import type { JobWorkersContext } from '@tapo/queues';
import { startNotifyWorker, type NotifyWorker } from './notify-processor.js';
import { Alerter } from './raise-alerts.js';

/**
 * The file job events alerts are raised for, with only the fields read here
 * (the file workers' events are a structural match): a segment that cannot be
 * repaired, and a prune with the disk state after it.
 */
export type FileAlertInput =
  | { type: 'unrecoverable'; cameraId: string; file: string; reason: string }
  | {
      type: 'pruned';
      emergency: boolean;
      summary: { deleted: number; diskTotalBytes?: number; freeBytesBefore?: number; freeBytesAfter?: number; floorUnreachable?: boolean };
    };

export interface Alerting {
  alerter: Alerter;
  /** Alerts from the file jobs: segment unrecoverable, emergency prune, disk nearly full. */
  onFileEvent(e: FileAlertInput): void;
  /** A replica target went down / came back (from the replication workers). */
  onReplicaState(targetId: string, state: { up: boolean; downSince?: number; lastError?: string }): void;
  close(): Promise<void>;
}

/** Hysteresis: "disk nearly full" ends only once usage is this many points below the threshold. */
const DISK_HYSTERESIS_PERCENT = 3;

/**
 * What a process needs to raise alerts and deliver them: an Alerter (the
 * `notify` queue, throttles and state in Redis) and, once the config names
 * alert targets, a `notify` worker (scheduler and workers both run one, so
 * messages go out while any of them lives).
 */
export function startAlerting(ctx: JobWorkersContext): Alerting {
  const alerter = new Alerter({ redis: ctx.redis, prefix: ctx.prefix, getConfig: ctx.getConfig, logger: ctx.logger });
  let notify: NotifyWorker | undefined;
  const ensureWorker = () => {
    if (!notify && ctx.getConfig().alerts.targets.length > 0) {
      notify = startNotifyWorker({ blocking: ctx.blocking, redis: ctx.redis, prefix: ctx.prefix, getConfig: ctx.getConfig, logger: ctx.logger, installName: ctx.hostname });
    }
  };
  ensureWorker();
  // Targets added to a running config: start delivering.
  const timer = setInterval(ensureWorker, 5000);
  timer.unref();
  const fail = (what: string) => (e: Error) => ctx.logger.warn({ err: e }, `could not raise the ${what} alert: ${e.message}`);

  // Replica outages: "unreachable" once it has been down for alertAfterSeconds, "back" when it answers again.
  const replicaTimers = new Map<string, NodeJS.Timeout>();
  const replicaDownSince = new Map<string, number>();

  return {
    alerter,
    onFileEvent(e) {
      const at = new Date().toISOString();
      if (e.type === 'unrecoverable') {
        void alerter.raise({ type: 'segment-unrecoverable', cameraId: e.cameraId, at, details: { file: e.file, reason: e.reason } }).catch(fail('segment-unrecoverable'));
        return;
      }
      const s = e.summary;
      if (!s.diskTotalBytes) return;
      const free = s.freeBytesAfter ?? s.freeBytesBefore ?? 0;
      const usedPercent = Math.round((1000 * (s.diskTotalBytes - free)) / s.diskTotalBytes) / 10;
      const details = { usedPercent, freeBytes: free, ...(s.deleted ? { deletedSegments: s.deleted } : {}) };
      if (e.emergency) void alerter.raise({ type: 'emergency-prune', at, details }).catch(fail('emergency-prune'));
      const threshold = ctx.getConfig().alerts.diskNearlyFullPercent;
      const subject = `disk:${ctx.hostname}`;
      if (usedPercent >= threshold || s.floorUnreachable) {
        void alerter.transition(subject, 'nearly-full', { type: 'disk-nearly-full', at, details }).catch(fail('disk-nearly-full'));
      } else if (usedPercent < threshold - DISK_HYSTERESIS_PERCENT) {
        void alerter.transition(subject, 'ok').catch(fail('disk'));
      }
    },
    onReplicaState(targetId, state) {
      const subject = `replica:${targetId}`;
      const pending = replicaTimers.get(targetId);
      if (state.up) {
        if (pending) clearTimeout(pending);
        replicaTimers.delete(targetId);
        // The "up" state no longer carries downSince: use the one seen when it went down.
        const since = state.downSince ?? replicaDownSince.get(targetId);
        replicaDownSince.delete(targetId);
        const downFor = since ? Math.round((Date.now() - since) / 1000) : 0;
        void alerter
          .transition(subject, 'up', { type: 'replica-back', replicaId: targetId, at: new Date().toISOString(), details: { downForSeconds: downFor } })
          .catch(fail('replica-back'));
        return;
      }
      if (!replicaDownSince.has(targetId)) replicaDownSince.set(targetId, state.downSince ?? Date.now());
      if (pending) return;
      const target = ctx.getConfig().replicas.find((r) => r.id === targetId);
      const since = replicaDownSince.get(targetId)!;
      const wait = Math.max(0, (target?.alertAfterSeconds ?? 300) * 1000 - (Date.now() - since));
      const t = setTimeout(() => {
        replicaTimers.delete(targetId);
        void alerter
          .transition(subject, 'unreachable', {
            type: 'replica-unreachable',
            replicaId: targetId,
            at: new Date().toISOString(),
            details: { downForSeconds: Math.round((Date.now() - since) / 1000), lastError: state.lastError ?? 'unreachable' },
          })
          .catch(fail('replica-unreachable'));
      }, wait);
      t.unref();
      replicaTimers.set(targetId, t);
    },
    async close() {
      clearInterval(timer);
      for (const t of replicaTimers.values()) clearTimeout(t);
      await notify?.close();
      await alerter.close();
    },
  };
}
