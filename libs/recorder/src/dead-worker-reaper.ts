import type { Redis } from 'ioredis';
import { workerAliveKey } from './writer-lease.js';
import type { Logger } from '@tapo/log';

/**
 * Fast failover without short locks. Record jobs hold long BullMQ locks (so a
 * Redis outage never hands a camera over), and every worker process keeps a
 * short-lived alive key. Each worker runs this reaper: an active job whose lock
 * belongs to a worker whose alive key has been gone for `confirmMs` (while this
 * reaper has been connected for `stableMs`, so that live workers had time to
 * refresh their keys after an outage) gets its lock deleted; BullMQ's stalled
 * check then moves it to wait and another worker takes it.
 *
 * Standalone Redis only (the scripts read keys named at run time).
 */
const CANDIDATES = `
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
local out = {}
for _, id in ipairs(ids) do
  local tok = redis.call('GET', ARGV[1] .. id .. ':lock')
  if tok then
    local wid = string.match(tok, '^([^:]+)')
    if wid and redis.call('EXISTS', ARGV[2] .. wid) == 0 then
      table.insert(out, id)
      table.insert(out, tok)
    end
  end
end
return out
`;

/** KEYS: alive key, registry. ARGV: value, ttl ms, worker id. The registry score is Redis' own clock. */
const BEAT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local t = redis.call('TIME')
redis.call('ZADD', KEYS[2], t[1] * 1000 + math.floor(t[2] / 1000), ARGV[3])
return 1
`;

/**
 * KEYS: registry. ARGV: stale after ms, forget after ms. Returns how many
 * registered workers have not beaten for "stale after" (usually 0: then the
 * reaper has nothing to look at). Workers silent for "forget after" leave the registry.
 */
const ANY_STALE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return #redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, 1)
`;

const REAP = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

type ReaperRedis = Redis & {
  recorderReaperCandidates(active: string, base: string, aliveBase: string): Promise<string[]>;
  recorderAnyStaleWorker(registry: string, staleMs: string, forgetMs: string): Promise<number>;
  recorderWorkerBeat(alive: string, registry: string, value: string, ttlMs: string, workerId: string): Promise<number>;
};

/** Sorted set of worker ids scored by their last beat (Redis time, ms). */
export function workerRegistryKey(prefix: string): string {
  return `${prefix}:workers`;
}

function define(r: ReaperRedis): void {
  // EVALSHA instead of sending the script text every second.
  if (!r.recorderReaperCandidates) r.defineCommand('recorderReaperCandidates', { numberOfKeys: 1, lua: CANDIDATES });
  if (!r.recorderAnyStaleWorker) r.defineCommand('recorderAnyStaleWorker', { numberOfKeys: 1, lua: ANY_STALE });
  if (!r.recorderWorkerBeat) r.defineCommand('recorderWorkerBeat', { numberOfKeys: 2, lua: BEAT });
}

/** "I am alive": the alive key (TTL) read by writer leases and reapers, and the registry entry. */
export async function workerAliveBeat(redis: Redis, prefix: string, workerId: string, value: string, ttlMs: number): Promise<void> {
  const r = redis as ReaperRedis;
  define(r);
  await r.recorderWorkerBeat(workerAliveKey(prefix, workerId), workerRegistryKey(prefix), value, String(ttlMs), workerId);
}

/** A stopping worker leaves: alive key and registry entry gone. */
export async function workerLeaves(redis: Redis, prefix: string, workerId: string): Promise<void> {
  await redis.multi().del(workerAliveKey(prefix, workerId)).zrem(workerRegistryKey(prefix), workerId).exec();
}

export interface ReaperOptions {
  redis: Redis;
  prefix: string;
  queueName: string;
  logger: Logger;
  confirmMs?: number;
  stableMs?: number;
  everyMs?: number;
  /** A registered worker whose last beat is older than this is looked at (its alive key's TTL). Default 3000. */
  aliveStaleMs?: number;
  onReap?(jobId: string, deadWorker: string): void;
}

export function startDeadWorkerReaper(o: ReaperOptions): { stop(): void } {
  const confirmMs = o.confirmMs ?? 1500;
  const aliveStaleMs = o.aliveStaleMs ?? 3000;
  const stableMs = o.stableMs ?? 4000;
  const r = o.redis as ReaperRedis;
  define(r);
  const registry = workerRegistryKey(o.prefix);
  let ticks = 0;
  let connectedSince = o.redis.status === 'ready' ? Date.now() : 0;
  const onReady = () => (connectedSince = Date.now());
  const onClose = () => (connectedSince = 0);
  o.redis.on('ready', onReady);
  o.redis.on('close', onClose);
  const firstSeen = new Map<string, number>();
  let busy = false;
  const base = `${o.prefix}:${o.queueName}:`;
  const aliveBase = `${o.prefix}:worker-alive:`;

  const tick = async () => {
    if (busy || !connectedSince || Date.now() - connectedSince < stableMs) return;
    busy = true;
    try {
      // Cheap look first (one call): is any registered worker silent? Only
      // then (and every 30th tick, for locks of workers not in the registry,
      // or while a candidate is being confirmed) walk the active jobs' locks.
      const full = ++ticks % 30 === 0 || firstSeen.size > 0 || (await r.recorderAnyStaleWorker(registry, String(aliveStaleMs), String(60_000))) > 0;
      if (!full) return;
      const res = (await r.recorderReaperCandidates(`${base}active`, base, aliveBase)) as string[];
      const now = Date.now();
      const current = new Set<string>();
      for (let i = 0; i + 1 < res.length; i += 2) {
        const jobId = res[i]!;
        const token = res[i + 1]!;
        const key = `${jobId}|${token}`;
        current.add(key);
        const first = firstSeen.get(key);
        if (first === undefined) {
          firstSeen.set(key, now);
          continue;
        }
        if (now - first < confirmMs) continue;
        const done = await o.redis.eval(REAP, 1, `${base}${jobId}:lock`, token);
        if (done === 1) {
          const dead = token.split(':')[0] ?? '?';
          o.logger.warn({ jobId, deadWorker: dead }, `worker ${dead} is gone: released its lock of ${jobId}, another worker takes it over`);
          o.onReap?.(jobId, dead);
        }
        firstSeen.delete(key);
      }
      for (const k of firstSeen.keys()) if (!current.has(k)) firstSeen.delete(k);
    } catch {
      /* Redis unreachable: nothing to do */
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), o.everyMs ?? 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      o.redis.off('ready', onReady);
      o.redis.off('close', onClose);
    },
  };
}
