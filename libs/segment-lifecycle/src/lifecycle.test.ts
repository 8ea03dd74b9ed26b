import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Mp4Classification } from '@tapo/mp4';
import type { SegmentRecord } from '@tapo/segment-index';
import { SegmentLifecycle, type PlayableSegment, type SegmentRef } from './lifecycle.js';

class FakeIndex {
  rows = new Map<string, SegmentRecord>();
  failNext = false;
  async upsert(r: SegmentRecord) {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('redis down');
    }
    this.rows.set(`${r.cameraId}/${r.file}`, r);
  }
  async get(cameraId: string, file: string) {
    return this.rows.get(`${cameraId}/${file}`);
  }
}

const kindOf = (kind: Mp4Classification['kind']): Mp4Classification => ({ kind, reason: `it is ${kind}`, fileBytes: 1234 }) as Mp4Classification;

describe('SegmentLifecycle', () => {
  let dir: string;
  let index: FakeIndex;
  let verifies: { ref: SegmentRef; reason: string }[];
  let got: PlayableSegment[];
  let kinds: Map<string, Mp4Classification['kind']>;
  let warnings: string[];
  let life: SegmentLifecycle;
  const file = 'cam1/2026-12-02/cam1-20261202T100000Z.mp4';

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifecycle-'));
    await mkdir(path.join(dir, 'cam1/2026-12-02'), { recursive: true });
    await writeFile(path.join(dir, file), Buffer.alloc(500));
    index = new FakeIndex();
    verifies = [];
    got = [];
    warnings = [];
    kinds = new Map();
    life = new SegmentLifecycle({
      index,
      recordingsDir: () => dir,
      enqueueVerify: async (ref, reason) => void verifies.push({ ref, reason }),
      classify: async (abs) => kindOf(kinds.get(path.relative(dir, abs)) ?? 'fragmented-clean'),
      logger: { warn: (_o, msg) => void warnings.push(msg) },
    });
    life.register({ name: 'collect', playable: (s) => void got.push(s) });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a closed segment that plays is indexed as ok and reaches each consumer once', async () => {
    const c = await life.closed({ cameraId: 'cam1', file, host: 'h1', durationMs: 60_000, bytes: 999 });
    expect(c.kind).toBe('fragmented-clean');
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ cameraId: 'cam1', file, host: 'h1', durationMs: 60_000, bytes: 1234, status: 'ok', how: 'closed' });
    expect(got[0]!.startMs).toBe(Date.parse('2026-12-02T10:00:00Z'));
    expect(index.rows.get(`cam1/${file}`)).toMatchObject({ status: 'ok', durationMs: 60_000 });
    // Reported again (the scan finds it, a verify job runs on it): not delivered twice.
    await life.found({ cameraId: 'cam1', file, host: 'h1', durationMs: 60_000 });
    await life.playable({ cameraId: 'cam1', file, host: 'h1', how: 'verified' });
    expect(got).toHaveLength(1);
    expect(verifies).toHaveLength(0);
  });

  it('a closed segment that does not play goes to the verify job, indexed as pending, not to the consumers', async () => {
    kinds.set(file, 'fragmented-partial');
    await life.closed({ cameraId: 'cam1', file, host: 'h1', durationMs: 30_000 });
    expect(got).toHaveLength(0);
    expect(verifies).toEqual([{ ref: { cameraId: 'cam1', file, host: 'h1' }, reason: 'closed by ffmpeg but fragmented-partial: it is fragmented-partial' }]);
    expect(index.rows.get(`cam1/${file}`)).toMatchObject({ status: 'pending', durationMs: 30_000 });
  });

  it('a repaired segment reaches the consumers once, keeping the duration the index had', async () => {
    kinds.set(file, 'no-moov');
    await life.closed({ cameraId: 'cam1', file, host: 'h1', durationMs: 42_000 });
    await life.setStatus({ cameraId: 'cam1', file, host: 'h1' }, 'pending');
    expect(got).toHaveLength(0);
    await life.playable({ cameraId: 'cam1', file, host: 'h1', how: 'repaired', status: 'repaired' });
    await life.playable({ cameraId: 'cam1', file, host: 'h1', how: 'repaired', status: 'repaired' });
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ how: 'repaired', status: 'repaired', durationMs: 42_000, bytes: 500 });
    expect(index.rows.get(`cam1/${file}`)?.status).toBe('repaired');
  });

  it('a received segment reaches the consumers once', async () => {
    const seg = { cameraId: 'cam1', file, host: 'h2', how: 'received' as const, startMs: 5, durationMs: 60_000, bytes: 777 };
    await life.playable(seg);
    await life.playable(seg);
    expect(got).toEqual([{ cameraId: 'cam1', file, host: 'h2', startMs: 5, durationMs: 60_000, bytes: 777, status: 'ok', how: 'received' }]);
  });

  it('an interrupted segment goes to the verify job only', async () => {
    await life.interrupted({ cameraId: 'cam1', file, host: 'h1' }, 'ffmpeg killed by SIGKILL');
    expect(verifies).toEqual([{ ref: { cameraId: 'cam1', file, host: 'h1' }, reason: 'ffmpeg killed by SIGKILL' }]);
    expect(got).toHaveLength(0);
  });

  it('a failing consumer is logged and does not stop the others; an index failure rejects and delivers nothing', async () => {
    const other: PlayableSegment[] = [];
    life.register({ name: 'broken', playable: () => Promise.reject(new Error('queue gone')) });
    life.register({ name: 'other', playable: (s) => void other.push(s) });
    expect(life.consumerNames()).toEqual(['collect', 'broken', 'other']);
    index.failNext = true;
    await expect(life.playable({ cameraId: 'cam1', file, host: 'h1', how: 'received' })).rejects.toThrow('redis down');
    expect(got).toHaveLength(0);
    await life.playable({ cameraId: 'cam1', file, host: 'h1', how: 'received' });
    expect(got).toHaveLength(1);
    expect(other).toHaveLength(1);
    expect(warnings).toEqual([`segment consumer broken failed on ${file}: queue gone`]);
  });

  it('remembers a bounded number of delivered segments', async () => {
    const small = new SegmentLifecycle({ index, recordingsDir: () => dir, enqueueVerify: async () => {}, rememberDelivered: 2 });
    const seen: string[] = [];
    small.register({ name: 'c', playable: (s) => void seen.push(s.file) });
    for (const f of ['a', 'b', 'c', 'a']) await small.playable({ cameraId: 'cam1', file: f, host: 'h', how: 'received', bytes: 1, durationMs: 1, startMs: 0 });
    expect(seen).toEqual(['a', 'b', 'c', 'a']);
  });
});
