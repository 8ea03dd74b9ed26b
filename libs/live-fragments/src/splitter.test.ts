import { describe, expect, it } from 'vitest';
import { FragmentSplitter, type SplitItem } from './splitter.js';
import { avFragment, box, initSegment, u32 } from './testing/build.js';

const init = initSegment();
const frags = [avFragment(1, true), avFragment(2, false), avFragment(3, false), avFragment(4, true), avFragment(5, false)];
const mfra = box('mfra', box('mfro', Buffer.alloc(8)));
const file = Buffer.concat([init.ftyp, box('free', Buffer.alloc(7)), init.moov, ...frags, mfra]);

/** What matters of an item, to compare runs. */
const summary = (items: SplitItem[]) =>
  items.map((it) => {
    if (it.kind === 'init') return ['init', it.offset, it.bytes.toString('hex')];
    if (it.kind === 'fragment') return ['fragment', it.offset, it.bytes.length, it.info.keyframe, it.info.sequence, it.bytes.equals(file.subarray(it.offset, it.offset + it.bytes.length))];
    if (it.kind === 'skipped') return ['skipped', it.type, it.offset];
    return ['error', it.offset, it.message];
  });

function feed(s: FragmentSplitter, bytes: Buffer, sizes: (i: number) => number): SplitItem[] {
  const out: SplitItem[] = [];
  const scratch = Buffer.alloc(bytes.length); // reused like the follower's read buffer
  for (let p = 0, i = 0; p < bytes.length; i++) {
    const n = Math.min(sizes(i), bytes.length - p);
    bytes.copy(scratch, 0, p, p + n);
    out.push(...s.push(scratch.subarray(0, n)));
    scratch.fill(0x5a, 0, n); // the splitter must have copied what it kept
    p += n;
  }
  return out;
}

describe('FragmentSplitter', () => {
  const whole = summary(new FragmentSplitter().push(file));

  it('finds the init (ftyp + moov only), every fragment and skips other boxes', () => {
    expect(whole.filter((w) => w[0] === 'init')).toEqual([['init', 0, init.bytes.toString('hex')]]);
    expect(whole.filter((w) => w[0] === 'fragment').map((w) => [w[3], w[4], w[5]])).toEqual([
      [true, 1, true],
      [false, 2, true],
      [false, 3, true],
      [true, 4, true],
      [false, 5, true],
    ]);
    expect(whole.filter((w) => w[0] === 'skipped').map((w) => w[1])).toEqual(['free', 'mfra']);
  });

  it('gives the same items however the bytes are cut (byte by byte, odd sizes, every 2-way split)', () => {
    expect(summary(feed(new FragmentSplitter(), file, () => 1))).toEqual(whole);
    const odd = [1, 7, 3, 997, 13, 4093, 2, 9];
    expect(summary(feed(new FragmentSplitter(), file, (i) => odd[i % odd.length]!))).toEqual(whole);
    for (let cut = 1; cut < file.length; cut += 3) {
      const s = new FragmentSplitter();
      const got = [...s.push(Buffer.from(file.subarray(0, cut))), ...s.push(Buffer.from(file.subarray(cut)))];
      expect(summary(got)).toEqual(whole);
    }
  });

  it('holds a partial fragment until its last byte, and says where it starts', () => {
    const s = new FragmentSplitter();
    s.push(Buffer.concat([init.bytes, frags[0]!]));
    const f = frags[1]!;
    const at = init.bytes.length + frags[0]!.length;
    expect(s.push(f.subarray(0, 5))).toEqual([]); // header split
    expect(s.partial).toEqual({ offset: at, bytes: 5 });
    expect(s.push(f.subarray(5, f.length - 1))).toEqual([]);
    expect(s.partial).toEqual({ offset: at, bytes: f.length - 1 });
    const last = s.push(f.subarray(f.length - 1));
    expect(last).toHaveLength(1);
    expect(last[0]).toMatchObject({ kind: 'fragment', offset: at });
    expect(s.partial).toBeUndefined();
    expect(s.heldBytes).toBe(0);
  });

  it('a 64-bit box size is followed', () => {
    const f = frags[0]!;
    const moofLen = f.readUInt32BE(0);
    const mdat = f.subarray(moofLen);
    const large = Buffer.concat([u32(1), Buffer.from('mdat'), Buffer.alloc(4), u32(mdat.length + 8), mdat.subarray(8)]);
    // the data offsets in the moof still point inside (the payload moved 8 bytes later, same length)
    const items = new FragmentSplitter().push(Buffer.concat([init.bytes, f.subarray(0, moofLen), large]));
    expect(items.map((i) => i.kind)).toEqual(['init', 'fragment']);
  });

  it('stops on an impossible size without allocating it', () => {
    const s = new FragmentSplitter({ maxFragmentBytes: 1 << 20 });
    const claim = Buffer.concat([u32(0xfffffff0), Buffer.from('mdat')]);
    const moof = frags[0]!.subarray(0, frags[0]!.readUInt32BE(0));
    const items = s.push(Buffer.concat([init.bytes, moof, claim, Buffer.alloc(100)]));
    expect(items.map((i) => i.kind)).toEqual(['init', 'error']);
    expect(items[1]).toMatchObject({ offset: init.bytes.length + moof.length, message: expect.stringContaining('limit') });
    expect(s.failed).toContain('limit');
    expect(s.heldBytes).toBe(0);
    expect(s.push(frags[1]!)).toEqual([]); // nothing more is accepted
  });

  it('stops on garbage: not a box type, a moof before the moov, a moof without mdat, samples past the mdat', () => {
    const garbage = new FragmentSplitter().push(Buffer.concat([init.bytes, Buffer.from([0, 0, 0, 20, 1, 2, 3, 4]), Buffer.alloc(12)]));
    expect(garbage.at(-1)).toMatchObject({ kind: 'error', offset: init.bytes.length, message: expect.stringContaining('not a box type') });
    expect(new FragmentSplitter().push(frags[0]!)[0]).toMatchObject({ kind: 'error', message: expect.stringContaining('before the moov') });
    const moof = frags[0]!.subarray(0, frags[0]!.readUInt32BE(0));
    expect(new FragmentSplitter().push(Buffer.concat([init.bytes, moof, frags[1]!])).at(-1)).toMatchObject({ kind: 'error', message: expect.stringContaining('not followed by its mdat') });
    const short = Buffer.concat([moof, box('mdat', Buffer.alloc(10))]);
    expect(new FragmentSplitter().push(Buffer.concat([init.bytes, short])).at(-1)).toMatchObject({ kind: 'error', message: expect.stringContaining('past its mdat') });
  });
});
