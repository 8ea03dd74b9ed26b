import type { Redis } from 'ioredis';

/**
 * "Never two ffmpegs writing the same camera": a per-camera writer lease in
 * Redis, `<prefix>:writer:<cameraId>` = owner, with a TTL. A recorder starts
 * ffmpeg only once it holds the lease, renews it with its heartbeat, and
 * releases it after ffmpeg has exited. A new owner (after a failover) waits
 * until the previous one released it or it expired.
 *
 * Renewal re-creates an expired lease only while this worker still holds the
 * job's BullMQ lock (checked atomically), so after a Redis outage exactly one
 * side continues: the one BullMQ still considers the owner.
 */
const RENEW = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not cur and redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Re-takes a job lock that expired while Redis was away, if the job is still ours in the active list. */
const REACQUIRE_LOCK = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SREM', KEYS[3], ARGV[3])
  return 1
end
if cur then return -1 end
if not redis.call('LPOS', KEYS[2], ARGV[3]) then return -2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SREM', KEYS[3], ARGV[3])
return 1
`;

export function writerKey(prefix: string, cameraId: string): string {
  return `${prefix}:writer:${cameraId}`;
}

export function jobLockKey(prefix: string, queueName: string, jobId: string): string {
  return `${prefix}:${queueName}:${jobId}:lock`;
}

export interface WriterLeaseOptions {
  redis: Redis;
  prefix: string;
  queueName: string;
  cameraId: string;
  jobId: string;
  token: string;
  owner: string;
  ttlMs: number;
}

export class WriterLease {
  readonly key: string;
  private readonly lockKey: string;

  constructor(private readonly o: WriterLeaseOptions) {
    this.key = writerKey(o.prefix, o.cameraId);
    this.lockKey = jobLockKey(o.prefix, o.queueName, o.jobId);
  }

  /** Current holder, if any. */
  holder(): Promise<string | null> {
    return this.o.redis.get(this.key);
  }

  /**
   * Waits until the lease is ours. Returns false if `signal` aborted first.
   * `onWait(holder)` is called once when someone else holds it.
   */
  async acquire(signal: AbortSignal, onWait?: (holder: string) => void): Promise<boolean> {
    let told = false;
    while (!signal.aborted) {
      try {
        const ok = await this.o.redis.set(this.key, this.o.owner, 'PX', this.o.ttlMs, 'NX');
        if (ok === 'OK') return true;
        const h = await this.o.redis.get(this.key);
        if (h === this.o.owner) return true;
        if (h && !told) {
          told = true;
          onWait?.(h);
        }
      } catch {
        /* Redis unreachable: keep trying */
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return false;
  }

  /** true: still ours; false: lost (someone else writes, or our job lock is gone). Throws if Redis is unreachable. */
  async renew(): Promise<boolean> {
    const r = await this.o.redis.eval(RENEW, 2, this.key, this.lockKey, this.o.owner, String(this.o.ttlMs), this.o.token);
    return r === 1;
  }

  async release(): Promise<void> {
    try {
      await this.o.redis.eval(RELEASE, 1, this.key, this.o.owner);
    } catch {
      /* expires by itself */
    }
  }
}

/**
 * After a Redis outage longer than lockDuration the job lock has expired.
 * If the job is still in our queue's active list, take the lock back with
 * our token. Returns 1 (ours again), -1 (someone else holds it), -2 (the job
 * was moved: another worker will record it).
 */
export async function reacquireJobLock(
  redis: Redis,
  prefix: string,
  queueName: string,
  jobId: string,
  token: string,
  lockDurationMs: number,
): Promise<number> {
  const base = `${prefix}:${queueName}`;
  return (await redis.eval(
    REACQUIRE_LOCK,
    3,
    jobLockKey(prefix, queueName, jobId),
    `${base}:active`,
    `${base}:stalled`,
    token,
    String(lockDurationMs),
    jobId,
  )) as number;
}
