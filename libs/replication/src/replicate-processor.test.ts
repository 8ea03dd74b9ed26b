import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UnrecoverableError } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReplicaConfig } from '@tapo/config';
import { createLogger } from '@tapo/log';
import type { ReplicateJobData } from '@tapo/queues';
import { ReplicationRejectedError, TargetDownError } from './errors.js';
import { pruneSchedule } from './prune-schedule.js';
import { TargetDownSignal, processReplicate, type ReplicateContext } from './replicate-processor.js';
import { TargetHealth } from './target-health.js';
import type { PutResult, ReplicaSegment, ReplicaTarget } from './targets/target.js';

const logger = createLogger({ name: 'replicate-processor-test', pretty: false, level: 'silent' });
const recordings = mkdtempSync(path.join(os.tmpdir(), 'replicate-processor-'));
afterAll(() => rmSync(recordings, { recursive: true, force: true }));

const NAME = 'cam1-20261127T110000Z.mp4';
const FILE = `cam1/2026-11-27/${NAME}`;
mkdirSync(path.join(recordings, 'cam1', '2026-11-27'), { recursive: true });
writeFileSync(path.join(recordings, FILE), 'segment bytes');

const config = (over: Partial<ReplicaConfig> = {}): ReplicaConfig =>
  ({ id: 'mem', type: 'directory', path: '/unused', retention: {}, alertAfterSeconds: 300, ...over }) as ReplicaConfig;
const job = (over: Partial<ReplicateJobData> = {}): ReplicateJobData => ({
  targetId: 'mem',
  cameraId: 'cam1',
  file: FILE,
  startMs: Date.UTC(2026, 10, 27, 11),
  durationMs: 60_000,
  bytes: 13,
  host: 'box',
  ...over,
});

/** A target that keeps copies in memory, and can be told to be down or to refuse. */
class MemoryTarget implements ReplicaTarget {
  readonly where = 'memory';
  readonly copies = new Map<string, string>();
  readonly calls: string[] = [];
  failWith: Error | undefined;
  pruned = 0;
  constructor(readonly id: string) {}
  async has(seg: ReplicaSegment): Promise<boolean> {
    this.calls.push(`has ${seg.fileName}`);
    if (this.failWith) throw this.failWith;
    const there = this.copies.get(seg.fileName);
    if (there === undefined) return false;
    if (there !== (await seg.digest()).sha256) throw new ReplicationRejectedError(`a different ${seg.fileName} is there`, this.id);
    return true;
  }
  async put(seg: ReplicaSegment): Promise<PutResult> {
    this.calls.push(`put ${seg.fileName}`);
    if (this.failWith) throw this.failWith;
    const digest = await seg.digest();
    this.copies.set(seg.fileName, digest.sha256);
    return { outcome: 'copied', ...digest, to: `memory/${seg.fileName}` };
  }
  async prune() {
    this.pruned++;
    const deleted = this.copies.size;
    this.copies.clear();
    return { deleted, bytes: deleted * 13, errors: [] };
  }
}

function context(target: MemoryTarget, replicas: ReplicaConfig[] = [config()]) {
  const replicated: Array<{ target: string; outcome: string }> = [];
  const health = new TargetHealth();
  let clock = 1_000;
  const ctx: ReplicateContext = {
    getConfig: () => ({ recordingsDir: recordings, replicas }),
    health,
    logger,
    now: () => clock,
    targetFor: (c) => {
      expect(c.id).toBe(target.id);
      return target;
    },
    onReplicated: (t, _job, r) => void replicated.push({ target: t.id, outcome: r.outcome }),
  };
  return { ctx, health, replicated, tick: (ms: number) => (clock += ms) };
}

describe('replicate processor with a target', () => {
  it('puts a segment the target lacks, then skips it once the target has it', async () => {
    const mem = new MemoryTarget('mem');
    const { ctx, replicated, health } = context(mem);
    const first = await processReplicate(ctx, job());
    expect(first).toMatchObject({ outcome: 'copied', bytes: 13 });
    expect(mem.calls).toEqual([`has ${NAME}`, `put ${NAME}`]);
    const second = await processReplicate(ctx, job());
    expect(second).toMatchObject({ outcome: 'already', bytes: 13 });
    expect(mem.calls).toEqual([`has ${NAME}`, `put ${NAME}`, `has ${NAME}`]);
    expect(replicated).toEqual([
      { target: 'mem', outcome: 'copied' },
      { target: 'mem', outcome: 'already' },
    ]);
    expect(health.get('mem')).toMatchObject({ up: true, lastSuccessMs: 1_000 });
  });

  it('asks the target nothing for what needs no copy', async () => {
    const mem = new MemoryTarget('mem');
    const { ctx } = context(mem, [config({ cameras: ['cam2'] })]);
    expect(await processReplicate(ctx, job())).toEqual({ outcome: 'skipped: camera not replicated' });
    expect(await processReplicate(ctx, job({ targetId: 'gone' }))).toEqual({ outcome: 'target removed' });
    expect(await processReplicate(ctx, job({ cameraId: 'cam2', file: 'cam2/2026-11-27/cam2-20261127T110000Z.mp4' }))).toEqual({ outcome: 'skipped: source gone' });
    await expect(processReplicate(ctx, job({ cameraId: 'cam2', file: FILE }))).rejects.toBeInstanceOf(UnrecoverableError);
    expect(mem.calls).toEqual([]);
  });

  it('a target that is down marks it down with a growing wait, and up again on the next success', async () => {
    const mem = new MemoryTarget('mem');
    const { ctx, health, tick } = context(mem);
    mem.failWith = new TargetDownError('replica "mem": unreachable', 'mem');
    const first = await processReplicate(ctx, job()).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(TargetDownSignal);
    expect((first as TargetDownSignal).delayMs).toBe(1000);
    expect(health.get('mem')).toEqual({ up: false, downSince: 1_000, lastError: 'replica "mem": unreachable' });
    tick(1000);
    expect(((await processReplicate(ctx, job()).catch((e: unknown) => e)) as TargetDownSignal).delayMs).toBe(2000);
    mem.failWith = undefined;
    tick(2000);
    expect((await processReplicate(ctx, job())).outcome).toBe('copied');
    expect(health.get('mem')).toMatchObject({ up: true, lastSuccessMs: 4_000 });
  });

  it('a refusal fails the job for good; an unexpected error is left for a retry', async () => {
    const mem = new MemoryTarget('mem');
    const { ctx, health } = context(mem);
    mem.copies.set(NAME, 'not the same sha256');
    await expect(processReplicate(ctx, job())).rejects.toBeInstanceOf(UnrecoverableError);
    mem.copies.clear();
    mem.failWith = new Error('disk on fire');
    await expect(processReplicate(ctx, job())).rejects.toThrow('disk on fire');
    expect(health.get('mem').up).toBe(true);
  });

  it('prunes a target with a ring buffer at most once per period, one prune at a time', async () => {
    const mem = new MemoryTarget('mem');
    const maybePrune = pruneSchedule(60_000, logger);
    mem.copies.set('a', 'x');
    const running = maybePrune(mem, 0);
    expect(maybePrune(mem, 70_000)).toBeUndefined(); // still running
    await running;
    expect(mem.pruned).toBe(1);
    expect(mem.copies.size).toBe(0);
    expect(maybePrune(mem, 30_000)).toBeUndefined(); // too soon
    await maybePrune(mem, 60_000);
    expect(mem.pruned).toBe(2);
    const keeper: ReplicaTarget = { id: 'keeper', where: 'x', has: mem.has.bind(mem), put: mem.put.bind(mem) };
    expect(maybePrune(keeper, 0)).toBeUndefined(); // no ring buffer of its own
    const broken = Object.assign(new MemoryTarget('broken'), { prune: () => Promise.reject(new Error('EIO')) });
    await expect(maybePrune(broken, 0)).resolves.toBeUndefined(); // logged, never thrown
  });
});
