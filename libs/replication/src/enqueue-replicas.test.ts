import { describe, expect, it } from 'vitest';
import type { ReplicaConfig } from '@tapo/config';
import { REPLICATE_JOB_NAME, REPLICATE_JOB_OPTIONS, replicateJobId } from '@tapo/queues';
import { enqueueReplicas, olderThanRetention, targetWantsCamera } from './enqueue-replicas.js';

const dir = (over: Partial<ReplicaConfig> = {}): ReplicaConfig =>
  ({ id: 'nas', type: 'directory', path: '/mnt/nas', retention: {}, alertAfterSeconds: 300, ...over }) as ReplicaConfig;
const web = (over: Partial<ReplicaConfig> = {}): ReplicaConfig =>
  ({ id: 'office', type: 'http', url: 'https://u:p@office:3000', token: 'secret-token-0123456789', retention: {}, alertAfterSeconds: 300, ...over }) as ReplicaConfig;

describe('replicate jobs', () => {
  it('matches cameras and the retention window', () => {
    expect(targetWantsCamera(dir(), 'cam1')).toBe(true);
    expect(targetWantsCamera(dir({ cameras: ['cam2'] }), 'cam1')).toBe(false);
    const t = dir({ retention: { maxAgeSeconds: 3600 } });
    const now = 10_000_000;
    expect(olderThanRetention(t, { startMs: now - 3600_000 - 60_000, durationMs: 59_000 }, now)).toBe(true);
    expect(olderThanRetention(t, { startMs: now - 3600_000 - 60_000, durationMs: 61_000 }, now)).toBe(false);
    expect(olderThanRetention(dir(), { startMs: 0, durationMs: 0 }, now)).toBe(false);
  });

  it('adds one LIFO job per matching target, with the deterministic id and no URL or token', async () => {
    const added: Array<{ q: string; name: string; data: unknown; opts: Record<string, unknown> }> = [];
    const queues = (q: string) => ({
      add: async (name: string, data: unknown, opts: Record<string, unknown>) => {
        added.push({ q, name, data, opts });
        return undefined as never;
      },
    });
    const now = Date.UTC(2026, 10, 27, 12);
    const config = { replicas: [dir(), web(), dir({ id: 'other', cameras: ['cam9'] }), web({ id: 'short', retention: { maxAgeSeconds: 60 } })] };
    const segment = { file: 'cam1/2026-11-27/cam1-20261127T110000Z.mp4', startMs: Date.UTC(2026, 10, 27, 11), durationMs: 60_000, bytes: 1234, host: 'box' };
    const ids = await enqueueReplicas({ queues, config, cameraId: 'cam1', segment, now });
    expect(ids).toEqual(['nas', 'office']);
    expect(added.map((a) => a.q)).toEqual(['nas', 'office']);
    for (const a of added) {
      expect(a.name).toBe(REPLICATE_JOB_NAME);
      expect(a.opts).toMatchObject({ lifo: true, attempts: REPLICATE_JOB_OPTIONS.attempts });
      expect(JSON.stringify(a.data)).not.toMatch(/secret|office:3000|\/mnt\/nas/);
    }
    expect(added[1]!.opts.jobId).toBe(replicateJobId('office', 'cam1', 'cam1-20261127T110000Z.mp4'));
    expect(added[1]!.data).toEqual({ targetId: 'office', cameraId: 'cam1', ...segment });
  });
});
