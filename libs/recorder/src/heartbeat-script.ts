import type { Redis } from 'ioredis';
import { DESIRED_UPDATED_FIELD, desiredCamerasKey } from '@tapo/queues';
import { jobLockKey, writerKey } from './writer-lease.js';

/**
 * One heartbeat of one recording = one Redis round trip (EVALSHA):
 * - store the progress in the job hash (what Bull Board and our pages show).
 *   Unlike BullMQ's job.updateProgress() it does not append a "progress" event
 *   to the queue's event stream (nobody listens; 10 000 events of ~1 KB each
 *   would sit in Redis);
 * - renew the writer lease, only while we still hold the job's BullMQ lock
 *   (extending that lock too): see WriterLease;
 * - read the scheduler's desired-cameras verdict for this camera.
 * Before, these were three round trips per camera per heartbeat.
 *
 * KEYS: job hash, job lock, stalled set, writer lease, desired-cameras hash.
 * ARGV: progress JSON, lock token, ttl ms, job id, lease owner, renew lease (1/0),
 *       camera id, settings hash, desired "updated" field.
 * Returns { lease: 1 ours | 0 lost | -1 not checked, desired: 0 keep | 1 camera removed | 2 settings changed }.
 */
const HEARTBEAT = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'progress', ARGV[1])
end
local lease = -1
if ARGV[6] == '1' then
  lease = 0
  if redis.call('GET', KEYS[2]) == ARGV[2] then
    redis.call('PEXPIRE', KEYS[2], ARGV[3])
    redis.call('SREM', KEYS[3], ARGV[4])
    local cur = redis.call('GET', KEYS[4])
    if cur == ARGV[5] then
      redis.call('PEXPIRE', KEYS[4], ARGV[3])
      lease = 1
    elseif not cur then
      redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[3])
      lease = 1
    end
  end
end
local desired = 0
local d = redis.call('HMGET', KEYS[5], ARGV[9], ARGV[7])
if d[1] then
  if not d[2] then desired = 1 elseif d[2] ~= ARGV[8] then desired = 2 end
end
return { lease, desired }
`;

type HeartbeatCommand = (
  jobKey: string,
  lockKey: string,
  stalledKey: string,
  writer: string,
  desired: string,
  progress: string,
  token: string,
  ttlMs: string,
  jobId: string,
  owner: string,
  renew: string,
  cameraId: string,
  settingsHash: string,
  updatedField: string,
) => Promise<[number, number]>;

export interface HeartbeatResult {
  lease: 'ours' | 'lost' | 'not-checked';
  desired: 'keep' | 'camera-removed' | 'settings-changed';
}

export interface HeartbeatTarget {
  prefix: string;
  queueName: string;
  jobId: string;
  cameraId: string;
  settingsHash: string;
  token: string;
  owner: string;
  ttlMs: number;
}

/** Sends one heartbeat (throws when Redis is unreachable). */
export async function sendHeartbeat(redis: Redis, t: HeartbeatTarget, progressJson: string, renewLease: boolean): Promise<HeartbeatResult> {
  const r = redis as Redis & { recorderHeartbeat?: HeartbeatCommand };
  if (!r.recorderHeartbeat) r.defineCommand('recorderHeartbeat', { numberOfKeys: 5, lua: HEARTBEAT });
  const [lease, desired] = await r.recorderHeartbeat!(
    `${t.prefix}:${t.queueName}:${t.jobId}`,
    jobLockKey(t.prefix, t.queueName, t.jobId),
    `${t.prefix}:${t.queueName}:stalled`,
    writerKey(t.prefix, t.cameraId),
    desiredCamerasKey(t.prefix),
    progressJson,
    t.token,
    String(t.ttlMs),
    t.jobId,
    t.owner,
    renewLease ? '1' : '0',
    t.cameraId,
    t.settingsHash,
    DESIRED_UPDATED_FIELD,
  );
  return {
    lease: lease === 1 ? 'ours' : lease === 0 ? 'lost' : 'not-checked',
    desired: desired === 1 ? 'camera-removed' : desired === 2 ? 'settings-changed' : 'keep',
  };
}
