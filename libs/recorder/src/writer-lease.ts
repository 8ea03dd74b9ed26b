import type { Redis } from 'ioredis';

/**
 * "Never two ffmpegs writing the same camera": a per-camera writer lease in
 * Redis, `<prefix>:writer:<cameraId>` = owner (`<job lock token>@<host>:<pid>`;
 * the token starts with the BullMQ worker id). A recording starts ffmpeg only
 * once it holds the lease, renews it with its heartbeat (heartbeat-script.ts), and releases it after
 * ffmpeg has exited. A new owner takes over a lease that was never released
 * only once the holder's worker is seen dead (its alive key is gone).
 *
 * Renewal requires that we still hold the job's BullMQ lock (checked
 * atomically, and the lock is extended with it), so if a job moved to another
 * worker, the old recording learns it at its next heartbeat and stops.
 */

// KEYS: writer. ARGV: owner, ttl, holder we may take over from ('' = none).
// 1: acquired. 2: held by someone else (the caller checks whether they live).
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then return 1 end
if cur and cur ~= ARGV[3] then return 2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
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

/** Key that a live worker process refreshes every second (TTL 3 s); workerId = BullMQ worker id. */
export function workerAliveKey(prefix: string, workerId: string): string {
  return `${prefix}:worker-alive:${workerId}`;
}

export function jobLockKey(prefix: string, queueName: string, jobId: string): string {
  return `${prefix}:${queueName}:${jobId}:lock`;
}

/** BullMQ lock tokens are `<worker id>:<n>`; owners are `<token>@<host>:<pid>`. */
export function workerIdOf(tokenOrOwner: string): string {
  return tokenOrOwner.split(':')[0] ?? '';
}

export interface WriterLeaseOptions {
  redis: Redis;
  prefix: string;
  cameraId: string;
  /** The job's BullMQ lock token. */
  token: string;
  /** `<host>:<pid>`, for people reading the lease. */
  where: string;
  ttlMs: number;
}

export class WriterLease {
  readonly key: string;
  readonly owner: string;

  constructor(private readonly o: WriterLeaseOptions) {
    this.key = writerKey(o.prefix, o.cameraId);
    this.owner = `${o.token}@${o.where}`;
  }

  /**
   * Waits until the lease is ours. Returns false if `signal` aborted first.
   * A holder whose worker is alive is waited for (it stops and releases); a
   * holder whose worker is dead (alive key absent twice, 0.5 s apart) is taken over.
   * `onWait(holder)` is called once when someone else holds it.
   */
  async acquire(signal: AbortSignal, onWait?: (holder: string) => void): Promise<boolean> {
    let told = false;
    let deadHolder = '';
    let deadSeen = 0;
    while (!signal.aborted) {
      try {
        const takeOver = deadSeen >= 2 ? deadHolder : '';
        const r = (await this.o.redis.eval(ACQUIRE, 1, this.key, this.owner, String(this.o.ttlMs), takeOver)) as number;
        if (r === 1) return true;
        const holder = (await this.o.redis.get(this.key)) ?? '';
        if (holder) {
          if (!told) {
            told = true;
            onWait?.(holder);
          }
          const alive = await this.o.redis.exists(workerAliveKey(this.o.prefix, workerIdOf(holder)));
          if (alive) {
            deadSeen = 0;
          } else {
            deadSeen = holder === deadHolder ? deadSeen + 1 : 1;
            deadHolder = holder;
            if (deadSeen >= 2) continue;
          }
        }
      } catch {
        /* Redis unreachable: keep trying */
      }
      await new Promise((res) => setTimeout(res, deadSeen > 0 ? 500 : 250));
    }
    return false;
  }

  async release(): Promise<void> {
    try {
      await this.o.redis.eval(RELEASE, 1, this.key, this.owner);
    } catch {
      /* expires by itself */
    }
  }
}

/**
 * After a Redis outage longer than the lock, the job lock has expired. If the
 * job is still in our queue's active list, take the lock back with our token.
 * Returns 1 (ours again), -1 (someone else holds it), -2 (the job was moved:
 * another worker will record it).
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
