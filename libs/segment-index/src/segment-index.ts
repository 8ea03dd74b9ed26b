import type { Redis } from 'ioredis';
import { decodeInfo, encodeInfo, type SegmentRecord } from './record.js';

/**
 * The segment index in Redis, per camera:
 *   <prefix>:seg:<camera>      ZSET  file → start (ms)
 *   <prefix>:seginfo:<camera>  HASH  file → "durationMs|bytes|status|host"
 *   <prefix>:segstats          HASH  <camera>:bytes, <camera>:count (O(1) totals)
 *   <prefix>:seg-cameras       SET   cameras with segments
 * About 300 bytes of Redis memory per segment (measured: see docs/design.md). It can be
 * rebuilt from the files on disk at any time (rescan): the files are the truth.
 */
const UPSERT = `
local old = redis.call('HGET', KEYS[2], ARGV[1])
local bytes = tonumber(ARGV[4])
if old then
  local oldBytes = tonumber(string.match(old, '^[^|]*|([^|]*)')) or 0
  redis.call('HINCRBY', KEYS[3], ARGV[5] .. ':bytes', bytes - oldBytes)
else
  redis.call('HINCRBY', KEYS[3], ARGV[5] .. ':bytes', bytes)
  redis.call('HINCRBY', KEYS[3], ARGV[5] .. ':count', 1)
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[5])
return old and 0 or 1
`;

// One HMGET, one HDEL, one ZREM and two HINCRBY per batch (not five calls per file).
// ARGV: camera, files... (at most REMOVE_BATCH: Lua's unpack has a stack limit of ~8000).
const REMOVE = `
local n = #ARGV - 1
local vals = redis.call('HMGET', KEYS[2], unpack(ARGV, 2))
local found = {}
local bytes = 0
for i = 1, n do
  local v = vals[i]
  if v then
    bytes = bytes + (tonumber(string.match(v, '^[^|]*|([^|]*)')) or 0)
    found[#found + 1] = ARGV[i + 1]
  end
end
if #found > 0 then
  redis.call('HDEL', KEYS[2], unpack(found))
  redis.call('ZREM', KEYS[1], unpack(found))
  redis.call('HINCRBY', KEYS[3], ARGV[1] .. ':bytes', -bytes)
  redis.call('HINCRBY', KEYS[3], ARGV[1] .. ':count', -#found)
end
return #found
`;
const REMOVE_BATCH = 5000;

export interface CameraIndexStats {
  count: number;
  bytes: number;
  oldestMs?: number;
  newestMs?: number;
}

export class SegmentIndex {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private zkey(cam: string): string {
    return `${this.prefix}:seg:${cam}`;
  }
  private hkey(cam: string): string {
    return `${this.prefix}:seginfo:${cam}`;
  }
  private get statsKey(): string {
    return `${this.prefix}:segstats`;
  }
  private get camerasKey(): string {
    return `${this.prefix}:seg-cameras`;
  }

  /** Adds or updates a segment (idempotent). Returns true when it was new. */
  async upsert(r: SegmentRecord): Promise<boolean> {
    const res = await this.redis.eval(
      UPSERT,
      4,
      this.zkey(r.cameraId),
      this.hkey(r.cameraId),
      this.statsKey,
      this.camerasKey,
      r.file,
      String(r.startMs),
      encodeInfo(r),
      String(Math.round(r.bytes)),
      r.cameraId,
    );
    return res === 1;
  }

  /** Removes segments; returns how many were indexed. */
  async remove(cameraId: string, files: string[]): Promise<number> {
    if (files.length === 0) return 0;
    let n = 0;
    const r = this.redis as Redis & { segIndexRemove?: (...args: string[]) => Promise<number> };
    if (!r.segIndexRemove) r.defineCommand('segIndexRemove', { numberOfKeys: 3, lua: REMOVE });
    for (let i = 0; i < files.length; i += REMOVE_BATCH) {
      n += await r.segIndexRemove!(this.zkey(cameraId), this.hkey(cameraId), this.statsKey, cameraId, ...files.slice(i, i + REMOVE_BATCH));
    }
    return n;
  }

  async get(cameraId: string, file: string): Promise<SegmentRecord | undefined> {
    const [info, score] = await Promise.all([
      this.redis.hget(this.hkey(cameraId), file),
      this.redis.zscore(this.zkey(cameraId), file),
    ]);
    if (info === null || score === null) return undefined;
    return decodeInfo(cameraId, file, Number(score), info);
  }

  private async hydrate(cameraId: string, withScores: string[]): Promise<SegmentRecord[]> {
    const files: string[] = [];
    const starts: number[] = [];
    for (let i = 0; i + 1 < withScores.length; i += 2) {
      files.push(withScores[i]!);
      starts.push(Number(withScores[i + 1]));
    }
    if (files.length === 0) return [];
    const infos = await this.redis.hmget(this.hkey(cameraId), ...files);
    const out: SegmentRecord[] = [];
    files.forEach((f, i) => {
      const info = infos[i];
      if (info) out.push(decodeInfo(cameraId, f, starts[i]!, info));
    });
    return out;
  }

  /** Segments starting in [fromMs, toMs], oldest first. */
  async range(cameraId: string, fromMs: number, toMs: number, limit = 100_000): Promise<SegmentRecord[]> {
    const res = await this.redis.zrangebyscore(this.zkey(cameraId), fromMs, toMs, 'WITHSCORES', 'LIMIT', 0, limit);
    return this.hydrate(cameraId, res);
  }

  /** The `count` oldest segments (from `offset`). */
  async oldest(cameraId: string, count: number, offset = 0): Promise<SegmentRecord[]> {
    const res = await this.redis.zrange(this.zkey(cameraId), offset, offset + count - 1, 'WITHSCORES');
    return this.hydrate(cameraId, res);
  }

  /** How many segments start before `ms`. */
  countStartingBefore(cameraId: string, ms: number): Promise<number> {
    return this.redis.zcount(this.zkey(cameraId), '-inf', `(${ms}`);
  }

  /** The newest good (ok / repaired) segment starting before `beforeMs`: a repair reference. */
  previousGood(cameraId: string, beforeMs: number): Promise<SegmentRecord | undefined> {
    return this.firstGood(cameraId, (offset) =>
      this.redis.zrevrangebyscore(this.zkey(cameraId), `(${beforeMs}`, '-inf', 'WITHSCORES', 'LIMIT', offset, 50),
    );
  }

  /** The first good segment starting after `afterMs`. */
  nextGood(cameraId: string, afterMs: number): Promise<SegmentRecord | undefined> {
    return this.firstGood(cameraId, (offset) =>
      this.redis.zrangebyscore(this.zkey(cameraId), `(${afterMs}`, '+inf', 'WITHSCORES', 'LIMIT', offset, 50),
    );
  }

  private async firstGood(cameraId: string, page: (offset: number) => Promise<string[]>): Promise<SegmentRecord | undefined> {
    for (let offset = 0; ; offset += 50) {
      const res = await page(offset);
      if (res.length === 0) return undefined;
      const good = (await this.hydrate(cameraId, res)).find((r) => r.status === 'ok' || r.status === 'repaired');
      if (good) return good;
    }
  }

  async stats(cameraId: string): Promise<CameraIndexStats> {
    const [[bytes, count], oldest, newest] = await Promise.all([
      this.redis.hmget(this.statsKey, `${cameraId}:bytes`, `${cameraId}:count`),
      this.redis.zrange(this.zkey(cameraId), 0, 0, 'WITHSCORES'),
      this.redis.zrange(this.zkey(cameraId), -1, -1, 'WITHSCORES'),
    ]);
    const out: CameraIndexStats = { count: Number(count) || 0, bytes: Number(bytes) || 0 };
    if (oldest[1] !== undefined) out.oldestMs = Number(oldest[1]);
    if (newest[1] !== undefined) out.newestMs = Number(newest[1]);
    return out;
  }

  async cameras(): Promise<string[]> {
    return (await this.redis.smembers(this.camerasKey)).sort();
  }

  /** Forgets a camera's index (before a rescan). */
  async clear(cameraId: string): Promise<void> {
    await this.redis
      .multi()
      .del(this.zkey(cameraId), this.hkey(cameraId))
      .hdel(this.statsKey, `${cameraId}:bytes`, `${cameraId}:count`)
      .srem(this.camerasKey, cameraId)
      .exec();
  }
}
