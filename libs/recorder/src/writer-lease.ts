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
// KEYS: writer, job lock, stalled set, last-writer. ARGV: owner, ttl, token, jobId.
// The lease is renewed only while we hold the job's BullMQ lock, and the lock
// is extended with it (so a job is never orphaned even if BullMQ stopped
// tracking it after a Redis outage).
const RENEW = `
if redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('SREM', KEYS[3], ARGV[4])
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SET', KEYS[4], ARGV[1])
  return 1
end
return 0
`;

// KEYS: writer, last-writer. ARGV: owner, ttl, allowOverPrevious (1/0).
// 1: acquired. 0: someone holds it. 2: free, but the previous writer did not
// release it (crashed, or still stopping): the caller decides whether to wait.
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then return 1 end
if cur then return 0 end
local last = redis.call('GET', KEYS[2])
if last and last ~= ARGV[1] and ARGV[3] ~= '1' then return 2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
return 1
`;

const RELEASE = `
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
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

export function lastWriterKey(prefix: string, cameraId: string): string {
  return `${prefix}:writer-last:${cameraId}`;
}

/** Key that a live worker process refreshes every second (TTL 3 s). */
export function workerAliveKey(prefix: string, workerId: string): string {
  return `${prefix}:worker-alive:${workerId}`;
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
  /** Worker id (host:pid) of this process; the owner is `<workerId>:<token>`. */
  workerId: string;
  ttlMs: number;
}

export class WriterLease {
  readonly key: string;
  readonly owner: string;
  private readonly lastKey: string;
  private readonly lockKey: string;
  private readonly stalledKey: string;

  constructor(private readonly o: WriterLeaseOptions) {
    this.key = writerKey(o.prefix, o.cameraId);
    this.lastKey = lastWriterKey(o.prefix, o.cameraId);
    this.lockKey = jobLockKey(o.prefix, o.queueName, o.jobId);
    this.stalledKey = `${o.prefix}:${o.queueName}:stalled`;
    this.owner = `${o.workerId}:${o.token}`;
  }

  /**
   * Waits until the lease is ours. Returns false if `signal` aborted first.
   * When the previous writer did not release the lease, waits until it does,
   * or until its worker process is seen dead (no alive key twice, 0.5 s apart):
   * a worker that comes back from a Redis outage stops its ffmpeg first.
   * `onWait(holder)` is called once when someone else holds it.
   */
  async acquire(signal: AbortSignal, onWait?: (holder: string) => void): Promise<boolean> {
    let told = false;
    let deadSeen = 0;
    while (!signal.aborted) {
      try {
        const r = (await this.o.redis.eval(ACQUIRE, 2, this.key, this.lastKey, this.owner, String(this.o.ttlMs), deadSeen >= 2 ? '1' : '0')) as number;
        if (r === 1) return true;
        const holder = (await this.o.redis.get(r === 2 ? this.lastKey : this.key)) ?? '';
        if (r === 2) {
          const workerId = holder.split(':').slice(0, 2).join(':');
          const alive = await this.o.redis.exists(workerAliveKey(this.o.prefix, workerId));
          deadSeen = alive ? 0 : deadSeen + 1;
        } else deadSeen = 0;
        if (!told && holder) {
          told = true;
          onWait?.(holder);
        }
        if (deadSeen >= 2) continue;
      } catch {
        /* Redis unreachable: keep trying */
      }
      await new Promise((res) => setTimeout(res, r_delay(deadSeen)));
    }
    return false;
  }

  /** true: still ours; false: lost (our job lock is gone, or someone else writes). Throws if Redis is unreachable. */
  async renew(): Promise<boolean> {
    const r = await this.o.redis.eval(RENEW, 4, this.key, this.lockKey, this.stalledKey, this.lastKey, this.owner, String(this.o.ttlMs), this.o.token, this.o.jobId);
    return r === 1;
  }

  async release(): Promise<void> {
    try {
      await this.o.redis.eval(RELEASE, 2, this.key, this.lastKey, this.owner);
    } catch {
      /* expires by itself */
    }
  }
}

function r_delay(deadSeen: number): number {
  return deadSeen > 0 ? 500 : 250;
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
