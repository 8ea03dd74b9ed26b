import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LiveEvent } from '@tapo/live-fragments';
import { TargetDownError } from './errors.js';
import { LiveSender, type LiveFileReader } from './live-sender.js';
import { LiveHoleError, type LiveAppendResult, type LiveChunk, type LiveFinish, type LiveTarget } from './targets/target.js';

const FILE = '/rec/cam/2026-12-02/cam-20261202T100000Z.mp4';
const log = { info() {}, warn() {}, debug() {} };

/** A growing file: whole 100-byte "boxes". */
function fakeFile() {
  let data = Buffer.alloc(0);
  const files: LiveFileReader = {
    async read(_f, start, end) {
      if (end > data.length) throw new Error('short');
      return Buffer.from(data.subarray(start, end));
    },
    async sha256(_f, bytes) {
      return createHash('sha256').update(data.subarray(0, bytes)).digest('hex');
    },
  };
  const grow = (boxes: number) => {
    const add = Buffer.alloc(100 * boxes);
    for (let i = 0; i < boxes; i++) {
      add.writeUInt32BE(100, i * 100);
      add.write('mdat', i * 100 + 4, 'latin1');
      add.fill(data.length / 100 + i, i * 100 + 8, (i + 1) * 100);
    }
    data = Buffer.concat([data, add]);
    return data.length;
  };
  return { files, grow, get data() { return data; } };
}

class FakeTarget implements LiveTarget {
  held = Buffer.alloc(0);
  appends: LiveChunk[] = [];
  finished: LiveFinish[] = [];
  down = false;
  constructor(readonly minIntervalMs = 0) {}
  async append(c: LiveChunk): Promise<LiveAppendResult> {
    if (this.down) throw new TargetDownError('down', 't');
    this.appends.push(c);
    if (c.offset > this.held.length) throw new LiveHoleError('hole', this.held.length);
    this.held = Buffer.concat([this.held.subarray(0, c.offset), c.bytes]);
    return { held: this.held.length, final: false };
  }
  async finish(f: LiveFinish): Promise<void> {
    if (this.down) throw new TargetDownError('down', 't');
    if (f.bytes > this.held.length) throw new LiveHoleError('hole', this.held.length);
    this.finished.push(f);
  }
}

const init = (len: number): LiveEvent => ({ type: 'init', segment: FILE, bytes: Buffer.alloc(len), tracks: [], videoTrackId: 1, codecs: [], mimeType: '', reason: 'start', configChanged: true, seenAt: 0 });
const frag = (offset: number, len: number, t: number): LiveEvent => ({ type: 'fragment', segment: FILE, offset, bytes: Buffer.alloc(len), keyframe: true, sequence: 1, trackId: 1, timescale: 1000, decodeTime: t, duration: 500, decodeTimeMs: t, durationMs: 500, seenAt: 0 });
const end = (bytes: number): LiveEvent => ({ type: 'segment-end', segment: FILE, reason: 'closed', bytesRead: bytes, incompleteBytes: 0, seenAt: 0 });
const until = async (cond: () => boolean, ms = 3000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('LiveSender', () => {
  it('sends the file as it grows, from the start, and finishes it with its sha256', async () => {
    const f = fakeFile();
    const t = new FakeTarget();
    const s = new LiveSender({ targetId: 't', cameraId: 'cam', target: () => t, logger: log, files: f.files });
    f.grow(2);
    s.consume(init(200));
    for (let i = 0; i < 5; i++) {
      const before = f.data.length;
      f.grow(1);
      s.consume(frag(before, 100, i * 500));
      await until(() => t.held.length === f.data.length);
    }
    s.consume(end(f.data.length));
    await until(() => t.finished.length === 1);
    expect(t.held.equals(f.data)).toBe(true);
    expect(t.finished[0]).toMatchObject({ bytes: 700, durationMs: 2500, sha256: createHash('sha256').update(f.data).digest('hex') });
    expect(s.stats()).toMatchObject({ lagMs: 0, bytesSent: 700, up: true });
    await s.close();
  });

  it('a late start sends from byte 0; a hole resends from what the target holds', async () => {
    const f = fakeFile();
    const t = new FakeTarget();
    const s = new LiveSender({ targetId: 't', cameraId: 'cam', target: () => t, logger: log, files: f.files });
    f.grow(10);
    s.consume(init(200));
    s.consume(frag(900, 100, 4000)); // the replay starts at the last keyframe
    await until(() => t.held.length === 1000);
    expect(t.appends[0]!.offset).toBe(0);
    t.held = t.held.subarray(0, 300); // the receiver lost its tail
    f.grow(1);
    s.consume(frag(1000, 100, 4500));
    await until(() => t.held.length === 1100);
    expect(t.held.equals(f.data)).toBe(true);
    await s.close();
  });

  it('keeps what arrives while the target is down and sends it when it is back; lag grows meanwhile', async () => {
    const f = fakeFile();
    const t = new FakeTarget();
    let now = 1_000_000;
    const s = new LiveSender({ targetId: 't', cameraId: 'cam', target: () => t, logger: log, files: f.files, retryMinMs: 10, retryMaxMs: 20, now: () => now });
    f.grow(2);
    s.consume(init(200));
    await until(() => t.held.length === 200);
    t.down = true;
    for (let i = 0; i < 3; i++) {
      const before = f.data.length;
      f.grow(1);
      s.consume(frag(before, 100, i * 500));
    }
    now += 5000;
    await until(() => s.stats().up === false);
    expect(s.stats().lagMs).toBe(5000);
    t.down = false;
    await until(() => t.held.length === 500);
    expect(s.stats()).toMatchObject({ up: true, lagMs: 0 });
    await s.close();
  });

  it('minIntervalMs bounds the requests: fragments that come meanwhile go in one append', async () => {
    const f = fakeFile();
    const t = new FakeTarget(150);
    const s = new LiveSender({ targetId: 't', cameraId: 'cam', target: () => t, logger: log, files: f.files });
    f.grow(2);
    s.consume(init(200));
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) {
      const before = f.data.length;
      f.grow(1);
      s.consume(frag(before, 100, i * 500));
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => t.held.length === f.data.length);
    const elapsed = Date.now() - t0;
    expect(t.appends.length).toBeLessThanOrEqual(Math.ceil(elapsed / 150) + 1);
    expect(t.held.equals(f.data)).toBe(true);
    await s.close();
  });

  it('splits a long backlog at box boundaries (maxChunkBytes)', async () => {
    const f = fakeFile();
    const t = new FakeTarget();
    const s = new LiveSender({ targetId: 't', cameraId: 'cam', target: () => t, logger: log, files: f.files, maxChunkBytes: 350 });
    f.grow(10);
    s.consume(init(200));
    s.consume(frag(900, 100, 0));
    await until(() => t.held.length === 1000);
    expect(t.appends.every((a) => a.bytes.length <= 350 && a.bytes.length % 100 === 0)).toBe(true);
    expect(t.appends.length).toBeGreaterThanOrEqual(3);
    expect(t.held.equals(f.data)).toBe(true);
    await s.close();
  });
});

describe('liveStatusOf', () => {
  it('keeps the freshest report per camera of the target, drops stale ones, gives per-hour rates', async () => {
    const { liveStatusOf } = await import('./status.js');
    const now = 10_000_000;
    const rep = (o: object) => JSON.stringify({ cameraId: 'cam1', lagMs: 420, bytesSent: 1e6, requests: 50, since: now - 3_600_000 / 2, up: true, at: now - 1000, ...o });
    const hash = {
      'office|cam1': rep({}),
      'office|cam2': rep({ cameraId: 'cam2', at: now - 60_000 }),
      'bucket|cam1': rep({ lagMs: 9000 }),
      junk: 'x',
    };
    const s = liveStatusOf('office', hash, now);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ cameraId: 'cam1', lagSeconds: 0.4, up: true });
    expect(s[0]!.bytesPerHour).toBeCloseTo(2e6 * (1800 / 1799), -4);
    expect(liveStatusOf('bucket', hash, now)[0]!.lagSeconds).toBe(9);
    // whole-segment uploads come on top (per hour since their first count)
    const usage = { 'office|cam1|since': String(now - 3_600_000), 'office|cam1|bytes': '5000000', 'office|cam1|requests': '120' };
    const w = liveStatusOf('office', hash, now, usage)[0]!;
    expect(w.bytesPerHour - w.liveBytesPerHour).toBe(5_000_000);
    expect(w.requestsPerHour).toBe(Math.round(50 / ((now - 1000 - (now - 1_800_000)) / 3_600_000) + 120));
  });
});
