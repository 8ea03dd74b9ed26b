import type { Logger } from '@tapo/log';
import { messageOf } from './errors.js';
import type { ReplicaTarget } from './targets/target.js';

/**
 * Runs the ring buffer of targets that keep one (`prune`), at most once per
 * `everyMs` per target and never twice at once; targets without `prune` are
 * left alone. Returns the call to make after each copy; it never throws nor
 * waits (the prune runs in the background and logs what it did).
 */
export function pruneSchedule(everyMs: number, logger: Logger): (target: ReplicaTarget, now?: number) => Promise<void> | undefined {
  const lastRun = new Map<string, number>();
  const running = new Set<string>();
  return (target, now = Date.now()) => {
    if (!target.prune || running.has(target.id) || now - (lastRun.get(target.id) ?? -Infinity) < everyMs) return undefined;
    lastRun.set(target.id, now);
    running.add(target.id);
    return target
      .prune(now)
      .then((s) => {
        if (s.deleted > 0 || s.errors.length > 0) {
          logger.info({ target: target.id, deleted: s.deleted, bytes: s.bytes, errors: s.errors.slice(0, 5) }, `replica "${target.id}": pruned ${s.deleted} copies (${s.bytes} bytes)`);
        }
      })
      .catch((e: unknown) => logger.warn({ err: e }, `replica "${target.id}": prune failed: ${messageOf(e)}`))
      .finally(() => running.delete(target.id));
  };
}
