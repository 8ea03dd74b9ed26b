import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FRAME, FrameReader, decodeRelay, encodeFrame, encodeRelay, liveChannel, wantChannel } from './codec.js';
import { LiveViewRelay } from './relay.js';
import { startViewerStream } from './viewer-stream.js';

/** A fake Redis: publish goes to every fake subscriber of the channel. */
function fakeRedis() {
  const subs: Array<{ ch: Set<string>; em: EventEmitter }> = [];
  const published: Array<{ channel: string; message: Buffer | string }> = [];
  const pub = {
    async publish(channel: string, message: Buffer | string) {
      published.push({ channel, message });
      for (const s of subs) if (s.ch.has(channel)) {
        s.em.emit('message', channel, message.toString());
        s.em.emit('messageBuffer', Buffer.from(channel), Buffer.isBuffer(message) ? message : Buffer.from(message));
      }
      return 1;
    },
  };
  const subscriber = () => {
    const s = { ch: new Set<string>(), em: new EventEmitter() };
    subs.push(s);
    return {
      subscribe: async (c: string) => void s.ch.add(c),
      unsubscribe: async (c: string) => void s.ch.delete(c),
      on(ev: string, fn: (...a: any[]) => void) {
        s.em.on(ev, fn);
        return this as any;
      },
      quit: async () => 'OK',
      channels: s.ch,
    };
  };
  return { pub, subscriber, published };
}

const PREFIX = 'p';
const init = (segment: string, configKey = 'w1#1') => encodeRelay({ src: 'w1', seq: 1, msg: { type: 'init', segment, mimeType: 'video/mp4; codecs="avc1.64001f"', codecs: ['avc1.64001f'], configKey, bytes: Buffer.from('INIT') } });
const frag = (segment: string, offset: number, keyframe: boolean, src = 'w1') => encodeRelay({ src, seq: offset, msg: { type: 'fragment', segment, offset, keyframe, decodeTimeMs: 0, durationMs: 500, seenAt: 0, bytes: Buffer.from(`F${offset}`) } });

describe('live view codec', () => {
  it('relay messages and frames round-trip', () => {
    const d = decodeRelay(frag('a.mp4', 100, true));
    expect(d).toMatchObject({ src: 'w1', msg: { type: 'fragment', segment: 'a.mp4', offset: 100, keyframe: true } });
    expect((d.msg as { bytes: Buffer }).bytes.toString()).toBe('F100');
    const r = new FrameReader();
    const bytes = Buffer.concat([encodeFrame(FRAME.status, 1, { state: 'live' }), encodeFrame(FRAME.fragment, 0, Buffer.from('xyz'))]);
    const out = [...r.push(bytes.subarray(0, 5)), ...r.push(bytes.subarray(5))];
    expect(out.map((f) => [f.kind, f.camera])).toEqual([[FRAME.status, 1], [FRAME.fragment, 0]]);
    expect(out[1]!.payload.toString()).toBe('xyz');
  });
});

describe('LiveViewRelay', () => {
  it('asks for the camera, fans out to every viewer, replays init + fragments since the keyframe, drops resent duplicates', async () => {
    const r = fakeRedis();
    const sub = r.subscriber();
    const relay = new LiveViewRelay({ redis: r.pub as any, subscriber: sub as any, prefix: PREFIX });
    const a: string[] = [];
    const stopA = relay.watch('cam', (e) => e.type !== 'source' && a.push(e.type === 'fragment' ? `f${e.offset}` : e.type));
    await Promise.resolve();
    expect(sub.channels.has(liveChannel(PREFIX, 'cam'))).toBe(true);
    expect(r.published.find((p) => p.channel === wantChannel(PREFIX))?.message).toBe(JSON.stringify({ cameras: ['cam'], resend: true }));
    const ch = liveChannel(PREFIX, 'cam');
    await r.pub.publish(ch, frag('s1', 50, false)); // before any init: ignored
    await r.pub.publish(ch, init('s1'));
    await r.pub.publish(ch, frag('s1', 100, true));
    await r.pub.publish(ch, frag('s1', 200, false));
    await r.pub.publish(ch, frag('s1', 200, false)); // a resend's duplicate
    const b: string[] = [];
    relay.watch('cam', (e) => b.push(e.type === 'fragment' ? `f${e.offset}` : e.type));
    expect(a).toEqual(['init', 'f100', 'f200']);
    expect(b).toEqual(['init', 'f100', 'f200']);
    expect(relay.state('cam')).toMatchObject({ live: true, viewers: 2, source: 'w1' });
    // another worker takes over once w1 is silent
    await r.pub.publish(ch, frag('s2', 10, true, 'w2')); // w1 spoke just now: ignored
    expect(a.at(-1)).toBe('f200');
    stopA();
    await relay.close();
  });
});

describe('startViewerStream', () => {
  it('frames init (configChanged once) and fragments from a keyframe on; drops to the next keyframe when the browser is slow', async () => {
    let listener: ((e: any) => void) | undefined;
    const relay = { watch: (_c: string, l: (e: any) => void) => ((listener = l), () => {}), state: () => ({ live: true, lastFragmentAt: 1, source: 'w1', viewers: 1 }) };
    const written: Buffer[] = [];
    const sink = { writableLength: 0, destroyed: false, write: (b: Buffer) => (written.push(b), true) };
    const stop = startViewerStream({ relay, cameras: ['cam'], sink, cameraState: async () => ({ recording: true }) });
    const reader = new FrameReader();
    const frames = () => reader.push(Buffer.concat(written.splice(0))).map((f) => (f.kind === FRAME.fragment ? `f:${f.payload}` : f.kind === FRAME.initHeader ? `h:${JSON.parse(f.payload.toString()).configChanged}` : f.kind === FRAME.gap ? 'gap' : f.kind === FRAME.initBytes ? 'i' : 's'));
    const I = { type: 'init', mimeType: 'm', codecs: [], configKey: 'k1', bytes: Buffer.from('I'), segment: 's1' };
    listener!(I);
    listener!({ type: 'fragment', keyframe: false, bytes: Buffer.from('0'), offset: 0 });
    listener!({ type: 'fragment', keyframe: true, bytes: Buffer.from('1'), offset: 1 });
    listener!({ ...I, segment: 's2' });
    listener!({ type: 'fragment', keyframe: true, bytes: Buffer.from('2'), offset: 2 });
    expect(frames().filter((f) => f !== 's')).toEqual(['h:true', 'i', 'f:1', 'h:false', 'i', 'f:2']);
    sink.writableLength = 10 * 1024 * 1024;
    listener!({ type: 'fragment', keyframe: false, bytes: Buffer.from('3'), offset: 3 });
    sink.writableLength = 0;
    listener!({ type: 'fragment', keyframe: false, bytes: Buffer.from('4'), offset: 4 });
    listener!({ type: 'fragment', keyframe: true, bytes: Buffer.from('5'), offset: 5 });
    expect(frames().filter((f) => f !== 's')).toEqual(['gap', 'h:false', 'i', 'f:5']);
    stop();
  });
});

describe('HlsWindow', async () => {
  const { HlsWindow } = await import('./hls.js');
  it('a GOP per segment, listed once finished, a discontinuity and a map per file, a sliding window', () => {
    const w = new HlsWindow({ keep: 3 });
    const f = (segment: string, offset: number, keyframe: boolean) => ({ type: 'fragment' as const, segment, offset, keyframe, bytes: Buffer.from(`${segment}@${offset};`), seenAt: 0, durationMs: 500 });
    const init = (segment: string) => ({ type: 'init' as const, segment, mimeType: 'm', codecs: [], configKey: 'k', bytes: Buffer.from(`I${segment}`) });
    w.push(init('a'));
    w.push(f('a', 1, false)); // before a keyframe: not listed
    w.push(f('a', 2, true));
    w.push(f('a', 3, false));
    expect(w.playlist()).toBeUndefined(); // the first GOP is still open
    w.push(f('a', 4, true));
    w.push(init('b'));
    w.push(f('b', 1, true));
    w.push(f('b', 2, true));
    const p = w.playlist()!;
    expect(p).toContain('#EXT-X-MEDIA-SEQUENCE:0');
    expect(p.match(/#EXT-X-DISCONTINUITY\n/g)?.length).toBe(1);
    expect(p).toContain('#EXT-X-MAP:URI="init-1.mp4"');
    expect(p).toContain('#EXT-X-MAP:URI="init-2.mp4"');
    expect(p).toContain('#EXTINF:1.000,\nseg-0.m4s');
    expect(w.segment(0)!.toString()).toBe('a@2;a@3;');
    expect(w.segment(3)).toBeUndefined(); // open
    for (let i = 3; i < 8; i++) w.push(f('b', i, true));
    const q = w.playlist()!;
    expect(q).toContain('#EXT-X-MEDIA-SEQUENCE:5');
    expect(q).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:1');
    expect(q).not.toContain('init-1.mp4');
    expect(w.init(1)).toBeUndefined();
    expect(w.init(2)!.toString()).toBe('Ib');
  });
});
