// LiveFragmentStream on real growing files: a fragmented MP4 made by ffmpeg, appended to a new
// file in pieces the way ffmpeg writes it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { truncate, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveFragmentEvent } from './events.js';
import { LiveFragmentStream } from './live-fragment-stream.js';
import { FragmentSplitter } from './splitter.js';
import { SimWriter, countingFs, decodeErrors, recorder, run, sleep } from './testing/files.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'live-fragments-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The source file and its parts: init bytes, fragments (offset, bytes, keyframe), trailing bytes. */
let src: Buffer;
let initBytes: Buffer;
let frags: Array<{ offset: number; bytes: Buffer; keyframe: boolean }>;
let tail: Buffer;
let n = 0;
const segPath = () => {
  const day = path.join(dir, 'cam', '2024-05-01');
  mkdirSync(day, { recursive: true });
  return path.join(day, `cam-20240501T1200${String(n++).padStart(2, '0')}Z.mp4`);
};

beforeAll(async () => {
  const out = path.join(dir, 'src.mp4');
  // prettier-ignore
  const r = await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15', '-f', 'lavfi', '-i', 'sine', '-t', '6', '-c:v', 'libx264', '-g', '15', '-c:a', 'aac', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '500000', out]);
  expect(r.code, r.stderr).toBe(0);
  src = readFileSync(out);
  const items = new FragmentSplitter().push(src);
  const init = items.find((i) => i.kind === 'init')!;
  initBytes = init.bytes;
  expect(init.offset).toBe(0);
  frags = items.flatMap((i) => (i.kind === 'fragment' ? [{ offset: i.offset, bytes: i.bytes, keyframe: i.info.keyframe }] : []));
  const last = frags[frags.length - 1]!;
  tail = src.subarray(last.offset + last.bytes.length);
  expect(frags.length).toBeGreaterThan(8);
  expect(frags.filter((f) => f.keyframe).length).toBeGreaterThan(3);
  expect(frags.some((f) => !f.keyframe)).toBe(true); // frag_duration cuts GOPs: not every fragment is a keyframe
}, 60_000);

const ODD = [1, 7, 4093, 13, 997, 2, 30011, 5];
const joined = (fs: LiveFragmentEvent[]) => fs.map((f) => f.bytes);

describe('LiveFragmentStream on growing files', () => {
  it('follows a file written in odd pieces (one fragment in 3 pieces with pauses), then a switch to the next file', async () => {
    const stream = new LiveFragmentStream({ cameraId: 'cam', pollMs: 100 });
    const c = recorder();
    stream.subscribe(c.consumer);
    const a = segPath();
    const b = segPath();
    stream.segmentOpened(a); // ffmpeg says "Opening" before the file exists
    await sleep(120);
    const w = await SimWriter.create(a);
    const split = frags[4]!;
    await w.appendInChunks(src.subarray(0, split.offset), ODD, 2);
    await c.until((g) => g.some((x) => x.e.type === 'fragment' && x.e.offset === frags[3]!.offset));
    // fragment 4: moof header cut, then up to the middle of its mdat, then the rest
    const mid = split.bytes.length - 5000;
    await w.append(split.bytes.subarray(0, 5));
    await sleep(150);
    await w.append(split.bytes.subarray(5, mid));
    await sleep(150);
    expect(c.fragments().some((f) => f.offset === split.offset)).toBe(false);
    expect(stream.stats().position).toBe(split.offset + mid);
    const lastPieceAt = await w.append(split.bytes.subarray(mid));
    await c.until((g) => g.some((x) => x.e.type === 'fragment' && x.e.offset === split.offset));
    const got4 = c.fragments().find((f) => f.offset === split.offset)!;
    expect(got4.bytes.equals(split.bytes)).toBe(true);
    expect(got4.seenAt).toBeGreaterThanOrEqual(lastPieceAt);
    // the rest of A; ffmpeg closes it and opens B in the same moment, before the reader caught up
    await w.appendInChunks(src.subarray(split.offset + split.bytes.length, src.length - 9000), ODD);
    await w.append(src.subarray(src.length - 9000));
    await w.close();
    stream.segmentClosed(a);
    stream.segmentOpened(b);
    const wb = await SimWriter.create(b);
    await wb.appendInChunks(src, [65536, 12345, 3]);
    await wb.close();
    stream.segmentClosed(b);
    await c.until((g) => g.filter((x) => x.e.type === 'segment-end').length === 2);
    await stream.close();

    const evs = c.got.map((x) => x.e);
    const ofA = evs.filter((e) => e.type !== 'gap' && e.segment === a);
    const ofB = evs.filter((e) => e.type !== 'gap' && e.segment === b);
    expect(evs).toHaveLength(ofA.length + ofB.length);
    expect(evs.indexOf(ofA[ofA.length - 1]!)).toBeLessThan(evs.indexOf(ofB[0]!)); // all of A before B's init
    for (const [seg, list] of [[a, ofA], [b, ofB]] as const) {
      expect(list[0]).toMatchObject({ type: 'init', segment: seg, codecs: ['avc1.64000c', 'mp4a.40.2'], videoTrackId: 1 });
      expect((list[0] as { bytes: Buffer }).bytes.equals(initBytes)).toBe(true);
      const fs = list.filter((e): e is LiveFragmentEvent => e.type === 'fragment');
      expect(fs.map((f) => [f.offset, f.keyframe])).toEqual(frags.map((f) => [f.offset, f.keyframe]));
      expect(fs.every((f, i) => f.bytes.equals(frags[i]!.bytes))).toBe(true);
      expect(list[list.length - 1]).toMatchObject({ type: 'segment-end', reason: 'closed', bytesRead: src.length, incompleteBytes: 0 });
      expect(await decodeErrors(dir, `joined-${path.basename(seg)}`, [initBytes, ...joined(fs)])).toBe('');
    }
    expect(ofA[0]).toMatchObject({ reason: 'start', configChanged: true });
    expect(ofB[0]).toMatchObject({ reason: 'segment', configChanged: false });
    const f1 = c.fragments()[1]!;
    expect(f1).toMatchObject({ trackId: 1, timescale: 15360 });
    expect(f1.decodeTimeMs).toBeCloseTo((f1.decodeTime * 1000) / 15360);
    expect(f1.durationMs).toBeGreaterThan(300);
  }, 30_000);

  it('without subscribers touches no file and keeps no watcher or timer; a late subscriber gets init + from the last keyframe', async () => {
    const counting = countingFs();
    const stream = new LiveFragmentStream({ cameraId: 'cam', pollMs: 100, fs: counting.fs });
    const a = segPath();
    stream.segmentOpened(a);
    const w = await SimWriter.create(a);
    // up to the middle of a fragment that follows a non-keyframe one
    const k = frags.findIndex((f, i) => i > 4 && !f.keyframe && !frags[i + 1]?.keyframe);
    const cut = frags[k + 1]!.offset + 100;
    await w.appendInChunks(src.subarray(0, cut), ODD, 1);
    await sleep(300);
    expect(counting.total()).toBe(0);
    expect(stream.stats()).toMatchObject({ following: false, watching: false, polling: false, subscribers: 0, segment: a });

    const c = recorder();
    const unsubscribe = stream.subscribe(c.consumer);
    await c.until((g) => g.filter((x) => x.e.type === 'fragment').length >= 2);
    const lastKey = frags.slice(0, k + 1).map((f) => f.keyframe).lastIndexOf(true);
    const expected = frags.slice(lastKey, k + 1);
    await sleep(100);
    expect(c.fragments().map((f) => f.offset)).toEqual(expected.map((f) => f.offset));
    expect(c.got[0]!.e).toMatchObject({ type: 'init', reason: 'start' });
    expect(stream.stats()).toMatchObject({ following: true, bufferedFragments: expected.length });
    // and follows what comes next
    await w.appendInChunks(src.subarray(cut), ODD, 1);
    await w.close();
    stream.segmentClosed(a);
    await c.until((g) => g.some((x) => x.e.type === 'segment-end'));
    expect(c.fragments().map((f) => f.offset)).toEqual(frags.slice(lastKey).map((f) => f.offset));
    expect(await decodeErrors(dir, 'late.mp4', [c.inits()[0]!.bytes, ...joined(c.fragments())])).toBe('');

    unsubscribe();
    await sleep(50);
    expect(stream.stats()).toMatchObject({ following: false, watching: false, polling: false, bufferedBytes: 0 });
    const after = counting.total();
    expect(counting.calls.close).toBe(counting.calls.open);
    stream.segmentOpened(segPath());
    await sleep(300);
    expect(counting.total()).toBe(after);
    await stream.close();
  }, 30_000);

  it('the keyframe back-buffer is bounded: past maxBufferedBytes a late subscriber waits for the next keyframe', async () => {
    const k = frags.findIndex((f, i) => f.keyframe && frags[i + 1] && !frags[i + 1]!.keyframe && frags[i + 2]?.keyframe);
    const gop = frags[k]!.bytes.length + frags[k + 1]!.bytes.length;
    const stream = new LiveFragmentStream({ cameraId: 'cam', pollMs: 50, maxBufferedBytes: gop - 1 });
    const first = recorder();
    stream.subscribe(first.consumer);
    const a = segPath();
    stream.segmentOpened(a);
    const w = await SimWriter.create(a);
    await w.append(src.subarray(0, frags[k + 2]!.offset));
    await first.until((g) => g.some((x) => x.e.type === 'fragment' && x.e.offset === frags[k + 1]!.offset));
    expect(stream.stats()).toMatchObject({ bufferedFragments: 0, bufferedBytes: 0 });
    const late = recorder();
    stream.subscribe(late.consumer);
    await sleep(100);
    expect(late.types()).toEqual(['init']);
    await w.append(frags[k + 2]!.bytes);
    await late.until((g) => g.some((x) => x.e.type === 'fragment'));
    expect(late.fragments()[0]).toMatchObject({ offset: frags[k + 2]!.offset, keyframe: true });
    expect(stream.stats().bufferedFragments).toBe(1);
    await w.close();
    await stream.close();
  }, 30_000);

  it('a slow consumer drops and resyncs at a keyframe; the other consumer and the writer never wait', async () => {
    const stream = new LiveFragmentStream({ cameraId: 'cam', pollMs: 50 });
    const fast = recorder();
    const slow = recorder(110); // takes 110 ms per event, fragments come every 50 ms
    stream.subscribe(fast.consumer);
    stream.subscribe(slow.consumer, { maxQueuedBytes: 40_000 });
    const segs = [segPath(), segPath()];
    const t0 = Date.now();
    for (const seg of segs) {
      stream.segmentOpened(seg);
      const w = await SimWriter.create(seg);
      await w.append(initBytes);
      for (const f of frags) {
        await w.append(f.bytes);
        await sleep(50);
      }
      await w.append(tail);
      await w.close();
      stream.segmentClosed(seg);
    }
    const writeMs = Date.now() - t0;
    await fast.until((g) => g.filter((x) => x.e.type === 'segment-end').length === 2);
    await sleep(1500); // let the slow one drain
    await stream.close();

    expect(writeMs).toBeLessThan(2 * frags.length * 50 + 1500); // the writer never waited for anybody
    expect(fast.fragments()).toHaveLength(2 * frags.length);
    expect(fast.types()).not.toContain('gap');
    const evs = slow.got.map((x) => x.e);
    const gaps = evs.flatMap((e, i) => (e.type === 'gap' ? [i] : []));
    expect(gaps.length).toBeGreaterThan(0);
    let dropped = 0;
    for (const i of gaps) {
      const g = evs[i] as { droppedFragments: number };
      dropped += g.droppedFragments;
      expect(g.droppedFragments).toBeGreaterThan(0);
      const init = evs[i + 1]!;
      const key = evs[i + 2]!;
      expect(init).toMatchObject({ type: 'init', reason: 'resync', configChanged: false });
      expect(key).toMatchObject({ type: 'fragment', keyframe: true });
      expect(init.type !== 'gap' && key.type !== 'gap' && init.segment === key.segment).toBe(true);
    }
    expect(slow.fragments().length + dropped).toBe(2 * frags.length);
    // what it got after the first resync decodes (up to the next notice)
    const run: LiveFragmentEvent[] = [];
    for (const e of evs.slice(gaps[0]! + 2)) {
      if (e.type !== 'fragment') break;
      run.push(e);
    }
    expect(await decodeErrors(dir, 'resync.mp4', [initBytes, ...joined(run)])).toBe('');
  }, 30_000);

  it('a segment closed before the reader caught up (poll only) is read to its end before the next', async () => {
    const stream = new LiveFragmentStream({ cameraId: 'cam', pollMs: 200, watch: false });
    const c = recorder();
    stream.subscribe(c.consumer);
    const a = segPath();
    const b = segPath();
    stream.segmentOpened(a);
    const w = await SimWriter.create(a);
    await w.append(src);
    await w.close();
    stream.segmentClosed(a);
    stream.segmentOpened(b);
    const wb = await SimWriter.create(b);
    await wb.append(src.subarray(0, frags[2]!.offset));
    await c.until((g) => g.filter((x) => x.e.type === 'fragment' && x.e.segment === b).length === 2, 3000);
    expect(stream.stats()).toMatchObject({ watching: false, polling: true, reading: b });
    await wb.close();
    await stream.close();
    const ofA = c.fragments().filter((f) => f.segment === a);
    expect(ofA.map((f) => f.offset)).toEqual(frags.map((f) => f.offset));
    expect(c.types().filter((t) => t === 'segment-end')).toHaveLength(1);
  }, 30_000);

  it('deletion, truncation and garbage end the segment with a reason; the stream carries on with the next', async () => {
    const stream = new LiveFragmentStream({ cameraId: 'cam', pollMs: 100 });
    const c = recorder();
    stream.subscribe(c.consumer);
    const endOf = (seg: string) => c.got.find((x) => x.e.type === 'segment-end' && x.e.segment === seg)?.e;

    // deleted (prune) while being followed
    const a = segPath();
    stream.segmentOpened(a);
    const wa = await SimWriter.create(a);
    await wa.append(src.subarray(0, frags[3]!.offset));
    await c.until((g) => g.filter((x) => x.e.type === 'fragment').length === 3);
    await unlink(a);
    await c.until(() => endOf(a) !== undefined, 3000);
    expect(endOf(a)).toMatchObject({ reason: 'deleted' });
    await wa.close();
    await sleep(50);
    expect(stream.stats()).toMatchObject({ following: true, reading: undefined, watching: false, polling: false });

    // truncated
    const b = segPath();
    stream.segmentOpened(b);
    const wb = await SimWriter.create(b);
    await wb.append(src.subarray(0, frags[3]!.offset));
    await c.until((g) => g.filter((x) => x.e.type === 'fragment' && x.e.segment === b).length === 3);
    await truncate(b, 100);
    await c.until(() => endOf(b) !== undefined, 3000);
    expect(endOf(b)).toMatchObject({ reason: 'truncated' });
    expect(c.got.find((x) => x.e.type === 'error' && x.e.segment === b)?.e).toMatchObject({ message: expect.stringContaining('shrank') });
    await wb.close();

    // garbage: a box claiming 4 GB after two fragments
    const d = segPath();
    stream.segmentOpened(d);
    const wd = await SimWriter.create(d);
    const at = frags[2]!.offset;
    await wd.append(src.subarray(0, at));
    await wd.append(Buffer.from([0xff, 0xff, 0xff, 0x00, 0x6d, 0x6f, 0x6f, 0x66, 1, 2, 3, 4, 5, 6, 7, 8]));
    await c.until(() => endOf(d) !== undefined, 3000);
    expect(endOf(d)).toMatchObject({ reason: 'error' });
    expect(c.got.find((x) => x.e.type === 'error' && x.e.segment === d)?.e).toMatchObject({ offset: at, message: expect.stringContaining('limit') });
    await wd.close();

    // and a good one after all that
    const e = segPath();
    stream.segmentOpened(e);
    const we = await SimWriter.create(e);
    await we.append(src);
    await we.close();
    stream.segmentClosed(e);
    await c.until(() => endOf(e) !== undefined);
    expect(c.fragments().filter((f) => f.segment === e)).toHaveLength(frags.length);
    expect(c.inits().find((i) => i.segment === e)).toMatchObject({ reason: 'segment' });
    expect(stream.stats().errors).toBe(2);
    await stream.close();
  }, 30_000);
});
