import { describe, expect, it } from 'vitest';
import { ConsumerQueue, type Offered, type OfferedInit } from './consumer-queue.js';
import type { LiveEvent, LiveFragmentEvent } from './events.js';

const init = (configKey = 'a', segment = 's1'): OfferedInit => ({ type: 'init', segment, bytes: Buffer.alloc(100), tracks: [], videoTrackId: 1, codecs: [], mimeType: '', reason: 'segment', configKey, seenAt: 0 });
let seq = 0;
const frag = (keyframe: boolean, bytes = 1000, segment = 's1'): LiveFragmentEvent => ({
  type: 'fragment', segment, offset: 0, bytes: Buffer.alloc(bytes), keyframe, sequence: ++seq, trackId: 1, timescale: 1000, decodeTime: 0, duration: 0, decodeTimeMs: 0, durationMs: 0, seenAt: 0,
});
const tick = () => new Promise((r) => setTimeout(r, 0));
const brief = (e: LiveEvent) => (e.type === 'fragment' ? `${e.keyframe ? 'K' : 'f'}${e.sequence}` : e.type === 'init' ? `init:${e.reason}:${e.configChanged}` : e.type === 'gap' ? `gap:${e.droppedFragments}` : e.type);

describe('ConsumerQueue', () => {
  it('delivers in order, starts at a keyframe, marks config changes per consumer', async () => {
    seq = 0;
    const got: string[] = [];
    const q = new ConsumerQueue((e) => void got.push(brief(e)), 1 << 20, () => {});
    const evs: Offered[] = [frag(true), init(), frag(false), frag(true), frag(false), { type: 'segment-end', segment: 's1', reason: 'switched', bytesRead: 0, incompleteBytes: 0, seenAt: 0 }, init('a', 's2'), frag(false), frag(true), init('b', 's3'), frag(true)];
    for (const e of evs) q.offer(e);
    await tick();
    expect(got).toEqual(['init:start:true', 'K3', 'f4', 'segment-end', 'init:segment:false', 'K6', 'init:segment:true', 'K7']);
  });

  it('a slow consumer drops, then gets a gap, the init again and a keyframe; offer never waits', async () => {
    seq = 0;
    const got: string[] = [];
    let release: () => void = () => {};
    const q = new ConsumerQueue(
      (e) => {
        got.push(brief(e));
        return new Promise<void>((r) => (release = r));
      },
      2500,
      () => {},
    );
    q.offer(init());
    q.offer(frag(true)); // K1
    q.offer(frag(false)); // f2: queued (1100 + 1000 <= 2500)
    q.offer(frag(false)); // f3: does not fit: dropping
    q.offer(frag(true)); // K4: still no room: dropped
    q.offer(frag(false)); // f5: dropped
    await tick();
    expect(q.stats()).toMatchObject({ droppedFragments: 3, droppedBytes: 3000 });
    for (let i = 0; i < 3; i++) {
      release();
      await tick();
    }
    expect(got).toEqual(['init:start:true', 'K1', 'f2']);
    q.offer(frag(false)); // f6: not a keyframe: dropped
    q.offer(frag(true)); // K7: resync
    for (let i = 0; i < 5; i++) {
      release();
      await tick();
    }
    expect(got).toEqual(['init:start:true', 'K1', 'f2', 'gap:4', 'init:resync:false', 'K7']);
    expect(q.stats()).toMatchObject({ gaps: 1, droppedFragments: 4 });
  });

  it('a fragment larger than the bound still passes when the queue is empty', async () => {
    seq = 0;
    const got: string[] = [];
    const q = new ConsumerQueue((e) => void got.push(brief(e)), 10, () => {});
    q.offer(init());
    await tick();
    q.offer(frag(true, 5000));
    await tick();
    expect(got).toEqual(['init:start:true', 'K1']);
  });

  it('a consumer that throws is reported once and gets nothing more', async () => {
    seq = 0;
    const failures: unknown[] = [];
    let calls = 0;
    const q = new ConsumerQueue(
      () => {
        calls++;
        throw new Error('boom');
      },
      1 << 20,
      (e) => failures.push(e),
    );
    q.offer(init());
    q.offer(frag(true));
    await tick();
    q.offer(frag(true));
    await tick();
    expect(calls).toBe(1);
    expect(failures).toHaveLength(1);
    expect(q.isClosed).toBe(true);
  });
});
