import { describe, expect, it } from 'vitest';
import { box, ByteWriter } from './box-writer.js';
import { parseBox, serializeNode } from './box-tree.js';
import { describeFragment, planPartialFragment } from './fragment-trim.js';
import {
  parseTfhd,
  parseTrun,
  serializeTfhd,
  serializeTrun,
  TFHD_DEFAULT_BASE_IS_MOOF,
  TFHD_DEFAULT_FLAGS,
  TFHD_DEFAULT_SIZE,
  TRUN_DATA_OFFSET,
  TRUN_FIRST_SAMPLE_FLAGS,
  TRUN_SAMPLE_CTO,
  TRUN_SAMPLE_DURATION,
  TRUN_SAMPLE_FLAGS,
  TRUN_SAMPLE_SIZE,
  type Trun,
} from './trun.js';

describe('trun', () => {
  it('round-trips every optional field (version 1, signed composition offsets)', () => {
    const t: Trun = {
      version: 1,
      flags: TRUN_DATA_OFFSET | TRUN_FIRST_SAMPLE_FLAGS | TRUN_SAMPLE_DURATION | TRUN_SAMPLE_SIZE | TRUN_SAMPLE_FLAGS | TRUN_SAMPLE_CTO,
      dataOffset: -12,
      firstSampleFlags: 0x02000000,
      samples: [
        { duration: 1024, size: 9392, flags: 0x01010000, compositionTimeOffset: 2048 },
        { duration: 1024, size: 4812, flags: 0x01010000, compositionTimeOffset: -1024 },
      ],
    };
    const bytes = serializeTrun(t);
    expect(bytes.length).toBe(4 + 4 + 4 + 4 + 2 * 16);
    expect(parseTrun(bytes)).toEqual(t);
  });

  it('round-trips a minimal run (sizes only, version 0)', () => {
    const t: Trun = { version: 0, flags: TRUN_SAMPLE_SIZE, samples: [{ size: 1 }, { size: 2 }, { size: 3 }] };
    expect(parseTrun(serializeTrun(t))).toEqual(t);
  });

  it('refuses a run whose entries are cut', () => {
    const bytes = serializeTrun({ version: 0, flags: TRUN_SAMPLE_SIZE, samples: [{ size: 1 }, { size: 2 }] });
    expect(() => parseTrun(bytes.subarray(0, bytes.length - 2))).toThrow(/declares 2 samples/);
  });

  it('tfhd round trip', () => {
    const t = { flags: TFHD_DEFAULT_BASE_IS_MOOF | TFHD_DEFAULT_SIZE | TFHD_DEFAULT_FLAGS, trackId: 2, defaultSampleSize: 400, defaultSampleFlags: 0x02000000 };
    expect(parseTfhd(serializeTfhd(t))).toEqual(t);
  });
});

describe('partial fragment', () => {
  // moof with a video traf (3 samples, sizes in the trun) and an audio traf (2 samples, tfhd default size 100).
  function fragment() {
    const videoTrun = (dataOffset: number): Trun => ({
      version: 0,
      flags: TRUN_DATA_OFFSET | TRUN_FIRST_SAMPLE_FLAGS | TRUN_SAMPLE_SIZE,
      dataOffset,
      firstSampleFlags: 0x02000000,
      samples: [{ size: 1000 }, { size: 500 }, { size: 700 }],
    });
    const audioTrun = (dataOffset: number): Trun => ({ version: 0, flags: TRUN_DATA_OFFSET, dataOffset, samples: [{}, {}] });
    const tfhdV = serializeTfhd({ flags: TFHD_DEFAULT_BASE_IS_MOOF | TFHD_DEFAULT_FLAGS, trackId: 1, defaultSampleFlags: 0x01010000 });
    const tfhdA = serializeTfhd({ flags: TFHD_DEFAULT_BASE_IS_MOOF | TFHD_DEFAULT_SIZE, trackId: 2, defaultSampleSize: 100 });
    const build = (vOff: number, aOff: number) =>
      box(
        'moof',
        box('mfhd', new ByteWriter().u32(0).u32(7).toBuffer()),
        box('traf', box('tfhd', tfhdV), box('tfdt', Buffer.alloc(12)), box('trun', serializeTrun(videoTrun(vOff)))),
        box('traf', box('tfhd', tfhdA), box('tfdt', Buffer.alloc(12)), box('trun', serializeTrun(audioTrun(aOff)))),
      );
    const size = build(0, 0).length;
    const moof = build(size + 8, size + 8 + 2200);
    return { moof, moofSize: size };
  }

  it('resolves sample positions from data offsets and defaults', () => {
    const { moof, moofSize } = fragment();
    const tracks = describeFragment(parseBox(moof), 5000, new Map());
    expect(tracks.map((t) => t.runs[0]!.starts)).toEqual([
      [5000 + moofSize + 8, 5000 + moofSize + 8 + 1000, 5000 + moofSize + 8 + 1500],
      [5000 + moofSize + 8 + 2200, 5000 + moofSize + 8 + 2300],
    ]);
    expect(tracks[0]!.runs[0]!.sync).toEqual([true, false, false]);
  });

  it('keeps complete samples, rewrites counts and offsets, drops a track with none', () => {
    const { moof, moofSize } = fragment();
    const moofStart = 5000;
    const mdat = { offset: moofStart + moofSize, size: 8 + 2400 };
    // File cut inside the third video sample: 2 video samples complete, audio none.
    const fileBytes = mdat.offset + 8 + 1600;
    const plan = planPartialFragment(parseBox(moof), moofStart, mdat, 8, fileBytes, new Map(), 3000)!;
    expect(plan.keptSamples).toBe(2);
    expect(plan.droppedTracks).toEqual([2]);
    expect(plan.payloadLength).toBe(1500);
    const out = parseBox(plan.moof);
    const trafs = out.children!.filter((c) => c.type === 'traf');
    expect(trafs).toHaveLength(1);
    const trun = parseTrun(trafs[0]!.children!.find((c) => c.type === 'trun')!.payload!);
    expect(trun.samples).toEqual([{ size: 1000 }, { size: 500 }]);
    expect(trun.firstSampleFlags).toBe(0x02000000);
    // The data now starts right after the smaller moof and its mdat header.
    expect(trun.dataOffset).toBe(plan.moof.length + 8);
    expect(plan.mdatHeader.readUInt32BE(0)).toBe(1508);
    expect(serializeNode(out).equals(plan.moof)).toBe(true);
  });

  it('keeps both tracks when the cut is inside the audio', () => {
    const { moof, moofSize } = fragment();
    const mdat = { offset: moofSize, size: 8 + 2400 };
    const plan = planPartialFragment(parseBox(moof), 0, mdat, 8, mdat.offset + 8 + 2350, new Map(), 0)!;
    expect(plan.keptSamples).toBe(4);
    const trafs = parseBox(plan.moof).children!.filter((c) => c.type === 'traf');
    const aTrun = parseTrun(trafs[1]!.children!.find((c) => c.type === 'trun')!.payload!);
    expect(aTrun.samples).toHaveLength(1);
    expect(aTrun.dataOffset).toBe(plan.moof.length + 8 + 2200);
  });

  it('returns nothing when no sample is complete', () => {
    const { moof, moofSize } = fragment();
    expect(planPartialFragment(parseBox(moof), 0, { offset: moofSize, size: 2408 }, 8, moofSize + 8 + 999, new Map(), 0)).toBeUndefined();
  });
});
