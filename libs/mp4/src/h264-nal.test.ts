import { describe, expect, it } from 'vitest';
import { compositionFromPoc } from './composition.js';
import { groupAccessUnits, parseSliceHeader, parseSps, PocTracker, type ParamSets } from './h264-nal.js';
import { validSei } from './mdat-scan.js';
import { aud, Bits, lengthPrefixed as lengthPrefixedBytes, pps, sei, slice, sps } from './testing/synthetic.js';

/** Length-prefixed (4 bytes) NAL units, as in an MP4 sample. */
const lengthPrefixed = (nals: number[][]) => Uint8Array.from(lengthPrefixedBytes(nals));

function knownParamSets(): ParamSets {
  const ps: ParamSets = { sps: new Map(), pps: new Map() };
  groupAccessUnits(lengthPrefixed([sps(), pps()]), 4, ps);
  return ps;
}

describe('H.264 headers', () => {
  it('parses the synthetic SPS', () => {
    const s = Uint8Array.from(sps());
    expect(parseSps(s, 0, s.length)).toMatchObject({ id: 0, profileIdc: 66, log2MaxFrameNum: 4, pocType: 0, log2MaxPocLsb: 6, widthMbs: 40, heightMbs: 23, totalMbs: 920 });
  });

  it('parses first_mb_in_slice, frame_num, poc and rejects out-of-range slices', () => {
    const ps = knownParamSets();
    const s = Uint8Array.from(slice(false, 600, 3, 10));
    expect(parseSliceHeader(s, 0, s.length, ps)).toMatchObject({ firstMb: 600, sliceType: 5, ppsId: 0, frameNum: 3, pocLsb: 10 });
    const tooFar = Uint8Array.from(slice(false, 920, 3, 10)); // 920 macroblocks: first_mb must be < 920
    expect(parseSliceHeader(tooFar, 0, tooFar.length, ps)).toBeUndefined();
    const unknownPps = Uint8Array.from([0x41, ...new Bits().ue(0).ue(5).ue(7).u(4, 0).u(6, 0).rbsp()]);
    expect(parseSliceHeader(unknownPps, 0, unknownPps.length, ps)).toBeUndefined();
  });

  it('validates SEI message framing', () => {
    const s = Uint8Array.from(sei());
    expect(validSei(s, 0, s.length)).toBe(true);
    const bad = Uint8Array.from([0x06, 5, 30, 1, 2, 0x80]);
    expect(validSei(bad, 0, bad.length)).toBe(false);
  });
});

describe('grouping NAL units into access units', () => {
  it('splits at a slice with first_mb_in_slice == 0 and keeps later slices of a picture together', () => {
    const data = lengthPrefixed([
      sei(),
      slice(true, 0, 0, 0),
      slice(false, 0, 1, 4),
      slice(false, 0, 2, 8),
      slice(false, 460, 2, 8), // second slice of the same picture
      slice(false, 0, 3, 12),
    ]);
    const aus = groupAccessUnits(data, 4, knownParamSets());
    expect(aus.map((a) => a.nalTypes)).toEqual([[6, 5], [1], [1, 1], [1]]);
    expect(aus.map((a) => a.keyframe)).toEqual([true, false, false, false]);
    // Access units tile the buffer.
    expect(aus.reduce((n, a) => n + a.size, 0)).toBe(data.length);
    for (let i = 1; i < aus.length; i++) expect(aus[i]!.offset).toBe(aus[i - 1]!.offset + aus[i - 1]!.size);
  });

  it('starts a new access unit at an AUD', () => {
    const aus = groupAccessUnits(lengthPrefixed([aud(), slice(true, 0, 0, 0), aud(), slice(false, 0, 1, 2), slice(false, 300, 1, 2), aud(), slice(false, 0, 2, 4)]), 4, knownParamSets());
    expect(aus.map((a) => a.nalTypes)).toEqual([[9, 5], [9, 1, 1], [9, 1]]);
  });

  it('keeps units that precede an AUD with the picture that follows (x264 first frame: SEI, AUD, SPS, PPS, SEI, IDR)', () => {
    const aus = groupAccessUnits(lengthPrefixed([sei(), aud(), sps(), pps(), sei(), slice(true, 0, 0, 0), aud(), slice(false, 0, 1, 2)]), 4, { sps: new Map(), pps: new Map() });
    expect(aus.map((a) => a.nalTypes)).toEqual([[6, 9, 7, 8, 6, 5], [9, 1]]);
  });

  it('starts a new access unit at SPS/PPS/SEI after slices, learning in-band parameter sets', () => {
    const ps: ParamSets = { sps: new Map(), pps: new Map() };
    const aus = groupAccessUnits(lengthPrefixed([sps(), pps(), slice(true, 0, 0, 0), slice(false, 0, 1, 2), sps(), pps(), sei(), slice(true, 0, 0, 0), sei(), slice(false, 0, 1, 2)]), 4, ps);
    expect(aus.map((a) => a.nalTypes)).toEqual([[7, 8, 5], [1], [7, 8, 6, 5], [6, 1]]);
    expect(aus.map((a) => a.keyframe)).toEqual([true, false, true, false]);
    expect(ps.sps.size).toBe(1);
  });

  it('stops at a unit whose length runs past the data', () => {
    const data = lengthPrefixed([slice(true, 0, 0, 0), slice(false, 0, 1, 2)]);
    expect(groupAccessUnits(data.subarray(0, data.length - 3), 4, knownParamSets())).toHaveLength(1);
  });

  it('works with 2-byte length prefixes', () => {
    const nals = [slice(true, 0, 0, 0), slice(false, 0, 1, 2)];
    const out: number[] = [];
    for (const n of nals) out.push(n.length >> 8, n.length & 255, ...n);
    expect(groupAccessUnits(Uint8Array.from(out), 2, knownParamSets()).map((a) => a.nalTypes)).toEqual([[5], [1]]);
  });
});

describe('picture order and composition offsets', () => {
  it('tracks POC type 0 across lsb wrap-around', () => {
    const s = Uint8Array.from(sps());
    const sp = parseSps(s, 0, s.length); // log2_max_poc_lsb = 6: lsb wraps at 64
    const t = new PocTracker();
    const h = (lsb: number) => ({ firstMb: 0, sliceType: 5, ppsId: 0, frameNum: 0, fieldPic: false, bottomField: false, idrPicId: 0, pocLsb: lsb, deltaPocBottom: 0 });
    expect(t.next(sp, true, 1, h(0), 0)).toBe(0);
    expect(t.next(sp, false, 1, h(20), 1)).toBe(20);
    expect(t.next(sp, false, 1, h(40), 2)).toBe(40);
    expect(t.next(sp, false, 0, h(30), 3)).toBe(30); // non-reference: does not move the reference point
    expect(t.next(sp, false, 1, h(60), 4)).toBe(60);
    expect(t.next(sp, false, 1, h(8), 5)).toBe(72); // wrapped: 64 + 8
    expect(t.next(sp, true, 1, h(0), 6)).toBe(0); // IDR resets
  });

  it('derives ctts from POC per IDR period (I P B b b pattern)', () => {
    // decode order: I0 P8 B4 b2 b6 | I0' P4' b2' ; display: I b2 B4 b6 P8 | I' b2' P4'
    const c = compositionFromPoc(Int32Array.from([0, 8, 4, 2, 6, 0, 4, 2]), Uint32Array.from([0, 5]))!;
    // presentation slots: [0,4,2,1,3 | 5,7,6]; shift = max(decode - presentation) = 2 (sample 3: 3 - 1)
    expect(c.shift).toBe(2);
    expect(Array.from(c.offsets)).toEqual([2, 5, 2, 0, 1, 2, 3, 1]);
    expect(compositionFromPoc(Int32Array.from([0, 2, 4]), Uint32Array.from([0]))).toBeUndefined();
  });
});
