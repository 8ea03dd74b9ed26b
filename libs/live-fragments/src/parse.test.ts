import { describe, expect, it } from 'vitest';
import { BoxFormatError, children, lookHeader } from './boxes.js';
import { isSyncSample, parseMoof } from './fragment.js';
import { avcCodecString, hevcCodecString, mp4aCodecString, parseInit } from './init.js';
import { KEY_FLAGS, NON_KEY_FLAGS, avcC, box, esds, fragment, initSegment, trex, u32, u64, videoEntry } from './testing/build.js';

const moofOf = (frag: Buffer) => frag.subarray(0, frag.readUInt32BE(0));

describe('box headers', () => {
  it('asks for more bytes when a header is split', () => {
    const b = box('moof', Buffer.alloc(20));
    expect(lookHeader(b, 0, 5)).toEqual({ need: 8 });
    expect(lookHeader(b, 0, 8)).toEqual({ header: { type: 'moof', size: 28, headerSize: 8 } });
    const large = Buffer.concat([u32(1), Buffer.from('mdat'), u64(40), Buffer.alloc(24)]);
    expect(lookHeader(large, 0, 12)).toEqual({ need: 16 });
    expect(lookHeader(large, 0, 16)).toEqual({ header: { type: 'mdat', size: 40, headerSize: 16 } });
  });

  it('refuses what cannot be a box', () => {
    expect(lookHeader(Buffer.from([0, 0, 0, 16, 0, 1, 2, 3]), 0, 8)).toHaveProperty('error', expect.stringContaining('not a box type'));
    expect(lookHeader(Buffer.concat([u32(0), Buffer.from('mdat')]), 0, 8)).toHaveProperty('error', expect.stringContaining('size 0'));
    expect(lookHeader(Buffer.concat([u32(5), Buffer.from('mdat')]), 0, 8)).toHaveProperty('error', expect.stringContaining('(< 8)'));
    const huge = Buffer.concat([u32(1), Buffer.from('mdat'), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
    expect(lookHeader(huge, 0, 16)).toHaveProperty('error', expect.stringContaining('impossible'));
  });

  it('children() refuses a child running past its container', () => {
    const b = Buffer.concat([u32(100), Buffer.from('trak')]);
    expect(() => children(b, 0, b.length, 'moov')).toThrow(BoxFormatError);
  });
});

describe('codec strings', () => {
  it('avc1 from avcC profile, constraints and level', () => {
    expect(avcCodecString('avc1', avcC(0x64, 0x00, 0x28).subarray(8))).toBe('avc1.640028');
    expect(avcCodecString('avc3', avcC(0x42, 0xc0, 0x1e).subarray(8))).toBe('avc3.42c01e');
    expect(() => avcCodecString('avc1', Buffer.from([1, 2]))).toThrow(BoxFormatError);
  });

  it('hvc1 per ISO/IEC 14496-15 annex E', () => {
    // Main profile, compatibility flags 0x60000000 (profiles 1 and 2), constraints 0xB0, level 93
    const hvcC = Buffer.from([1, 0x01, 0x60, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 93, 0xf0, 0]);
    expect(hevcCodecString('hvc1', hvcC)).toBe('hvc1.1.6.L93.B0');
    // Main 10, high tier, level 120
    const main10 = Buffer.from([1, 0x22, 0x20, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 120, 0xf0, 0]);
    expect(hevcCodecString('hev1', main10)).toBe('hev1.2.4.H120.90');
  });

  it('mp4a from the esds object type and AudioSpecificConfig', () => {
    expect(mp4aCodecString(esds(2).subarray(8))).toBe('mp4a.40.2');
    expect(mp4aCodecString(esds(5).subarray(8))).toBe('mp4a.40.5');
    expect(() => mp4aCodecString(Buffer.from([0, 0, 0, 0, 0x03, 0x7f]))).toThrow(BoxFormatError);
  });

  it('parseInit: tracks, timescales, trex defaults, MIME type, config key', () => {
    const init = initSegment({ trex: [trex(1, 512, 0, NON_KEY_FLAGS), trex(2)] });
    const info = parseInit(init.moov);
    expect(info.videoTrackId).toBe(1);
    expect(info.codecs).toEqual(['avc1.640028', 'mp4a.40.2']);
    expect(info.mimeType).toBe('video/mp4; codecs="avc1.640028, mp4a.40.2"');
    expect(info.tracks.map((t) => [t.id, t.kind, t.timescale, t.sampleEntry])).toEqual([
      [1, 'video', 15360, 'avc1'],
      [2, 'audio', 44100, 'mp4a'],
    ]);
    expect(info.tracks[0]!.defaults).toEqual({ sampleDuration: 512, sampleSize: 0, sampleFlags: NON_KEY_FLAGS });
    expect(parseInit(initSegment().moov).configKey).toBe(parseInit(initSegment({ trex: [trex(1, 9), trex(2)] }).moov).configKey);
    expect(parseInit(initSegment({ video: videoEntry(avcC(0x4d, 0, 0x1f)) }).moov).configKey).not.toBe(info.configKey);
  });

  it('parseInit refuses a moov without tracks or with a cut trak', () => {
    expect(() => parseInit(box('moov', box('mvex')))).toThrow(/no trak/);
    const cut = box('moov', Buffer.concat([u32(200), Buffer.from('trak'), Buffer.alloc(10)]));
    expect(() => parseInit(cut)).toThrow(BoxFormatError);
  });
});

describe('fragment keyframe, decode time, duration', () => {
  const info = parseInit(initSegment().moov);

  it('sync flag: bit 16 clear', () => {
    expect(isSyncSample(KEY_FLAGS)).toBe(true);
    expect(isSyncSample(NON_KEY_FLAGS)).toBe(false);
  });

  it('from trun first_sample_flags (how ffmpeg marks them)', () => {
    const f = parseMoof(moofOf(fragment(7, [{ trackId: 1, decodeTime: 30720, sizes: [10, 10], defaultDuration: 1024, defaultFlags: NON_KEY_FLAGS, firstSampleFlags: KEY_FLAGS }])), info);
    expect(f).toMatchObject({ sequence: 7, keyframe: true, trackId: 1, timescale: 15360, decodeTime: 30720, duration: 2048, sampleCount: 2 });
    const nk = parseMoof(moofOf(fragment(8, [{ trackId: 1, decodeTime: 0, sizes: [10], defaultDuration: 1024, defaultFlags: KEY_FLAGS, firstSampleFlags: NON_KEY_FLAGS }])), info);
    expect(nk.keyframe).toBe(false);
  });

  it('from per-sample flags, then tfhd default flags, then trex defaults', () => {
    const perSample = fragment(1, [{ trackId: 1, decodeTime: 0, sizes: [5, 5], durations: [1000, 1100], sampleFlags: [KEY_FLAGS, NON_KEY_FLAGS], defaultFlags: NON_KEY_FLAGS }]);
    expect(parseMoof(moofOf(perSample), info)).toMatchObject({ keyframe: true, duration: 2100 });
    const tfhd = fragment(1, [{ trackId: 1, decodeTime: 0, sizes: [5], defaultDuration: 1, defaultFlags: KEY_FLAGS }]);
    expect(parseMoof(moofOf(tfhd), info).keyframe).toBe(true);
    const viaTrex = fragment(1, [{ trackId: 1, decodeTime: 0, sizes: [5] }]);
    expect(parseMoof(moofOf(viaTrex), parseInit(initSegment({ trex: [trex(1, 640, 0, NON_KEY_FLAGS), trex(2)] }).moov))).toMatchObject({ keyframe: false, duration: 640 });
    expect(parseMoof(moofOf(viaTrex), parseInit(initSegment({ trex: [trex(1, 640, 0, KEY_FLAGS), trex(2)] }).moov)).keyframe).toBe(true);
  });

  it('uses the video traf whatever its position, and a 64-bit tfdt', () => {
    const f = fragment(3, [
      { trackId: 2, decodeTime: 99, sizes: [5], durations: [1024] },
      { trackId: 1, decodeTime: 2 ** 40, tfdtVersion: 1, sizes: [5, 6, 7], defaultDuration: 1024, firstSampleFlags: KEY_FLAGS, defaultFlags: NON_KEY_FLAGS },
    ]);
    expect(parseMoof(moofOf(f), info)).toMatchObject({ trackId: 1, decodeTime: 2 ** 40, duration: 3072, keyframe: true });
  });

  it('an audio-only fragment is never a keyframe; its times are the audio track', () => {
    const f = fragment(9, [{ trackId: 2, decodeTime: 4410, sizes: [5, 5], durations: [1024, 1024], defaultFlags: KEY_FLAGS }]);
    expect(parseMoof(moofOf(f), info)).toMatchObject({ keyframe: false, trackId: 2, timescale: 44100, decodeTime: 4410, duration: 2048 });
  });

  it('refuses a trun claiming more samples than its bytes hold, and unknown tracks', () => {
    const f = Buffer.from(moofOf(fragment(1, [{ trackId: 1, decodeTime: 0, sizes: [5], defaultDuration: 1 }])));
    const trun = f.indexOf('trun');
    f.writeUInt32BE(0x7fffffff, trun + 8); // sample count
    expect(() => parseMoof(f, info)).toThrow(/declares 2147483647 samples/);
    expect(() => parseMoof(moofOf(fragment(1, [{ trackId: 5, decodeTime: 0, sizes: [1] }])), info)).toThrow(/track 5/);
  });
});
