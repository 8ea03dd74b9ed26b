import { Redis, type RedisOptions } from 'ioredis';
import type { RecorderConfig } from '@tapo/config';
import { redactUrl, type Logger } from '@tapo/log';

export interface RedisConnectOptions {
  /** For workers and blocking clients: retry commands forever (BullMQ requirement). */
  blocking?: boolean;
  name?: string;
}

/**
 * An ioredis connection for BullMQ. Workers need maxRetriesPerRequest: null;
 * producers (scheduler, board) fail fast with enableOfflineQueue: false.
 */
export function createRedis(url: string, opts: RedisConnectOptions = {}): Redis {
  const options: RedisOptions = {
    maxRetriesPerRequest: opts.blocking ? null : 3,
    connectionName: opts.name,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    lazyConnect: false,
  };
  return new Redis(url, options);
}

/** Waits until Redis answers PING, or throws a clear error after timeoutMs. */
export async function waitForRedis(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
    r.on('error', () => {});
    try {
      await r.connect();
      await r.ping();
      r.disconnect();
      return;
    } catch (e) {
      lastErr = e;
      r.disconnect();
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`Redis at ${redactUrl(url)} does not answer: ${(lastErr as Error)?.message ?? lastErr}`);
}

/** True when something answers PING at url within timeoutMs. */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    await waitForRedis(url, timeoutMs);
    return true;
  } catch {
    return false;
  }
}

/** Warns (returns a message) when Redis may evict keys: BullMQ needs noeviction. */
export async function checkEvictionPolicy(redis: Redis): Promise<string | undefined> {
  try {
    const res = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const policy = res[1];
    if (policy && policy !== 'noeviction') {
      return `Redis maxmemory-policy is "${policy}": Redis may silently delete queue keys under memory pressure and lose recording jobs. Set maxmemory-policy noeviction.`;
    }
  } catch {
    /* CONFIG may be disabled (managed Redis): nothing to say */
  }
  return undefined;
}

/** Install-wide event counters (prune deletions, repair outcomes), read by /metrics. */
export function countersKey(prefix: string): string {
  return `${prefix}:counters`;
}

export async function incrementCounter(redis: Redis, prefix: string, field: string, by = 1): Promise<void> {
  await redis.hincrby(countersKey(prefix), field, Math.round(by)).catch(() => {});
}

export async function readCounters(redis: Redis, prefix: string): Promise<Record<string, number>> {
  const raw = await redis.hgetall(countersKey(prefix));
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v) || 0]));
}

/**
 * What every group of file-job workers in a worker process gets: the two
 * connections (workers block on `blocking`, commands go to `redis`), the
 * install's prefix, the live config, this host's name and the logger.
 */
export interface JobWorkersContext {
  /** Connection for workers (maxRetriesPerRequest: null). */
  blocking: Redis;
  /** Connection for commands. */
  redis: Redis;
  prefix: string;
  getConfig(): RecorderConfig;
  hostname: string;
  logger: Logger;
}
