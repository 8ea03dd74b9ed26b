import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AacFrameParser, parseAudioSpecificConfig } from './aac-frame.js';
import { aacFrame } from './testing/synthetic.js';

// AudioSpecificConfig 0x1588: AAC-LC (2), 8 kHz (index 11), mono.
const asc = parseAudioSpecificConfig(Buffer.from([0x15, 0x88]));

describe('AAC-LC frame delimiting', () => {
  it('parses the AudioSpecificConfig', () => {
    expect(asc).toEqual({ objectType: 2, samplingIndex: 11, sampleRate: 8000, channelConfig: 1, frameLength: 1024 });
    expect(parseAudioSpecificConfig(Buffer.from([0x11, 0x90]))).toMatchObject({ objectType: 2, sampleRate: 48000, channelConfig: 2 });
  });

  it('finds the exact length of frames in a run of frames', () => {
    const p = new AacFrameParser(asc);
    const frames = [aacFrame(0), aacFrame(40), aacFrame(300), aacFrame(7)];
    const data = Uint8Array.from(frames.flat());
    let off = 0;
    for (const f of frames) {
      expect(p.frameLength(data, off, data.length)).toBe(f.length);
      off += f.length;
    }
  });

  it('returns -1 for a cut frame, a wrong channel layout, or random bytes', () => {
    const p = new AacFrameParser(asc);
    const f = Uint8Array.from(aacFrame(100));
    expect(p.frameLength(f, 0, f.length - 1)).toBe(-1);
    const stereo = new AacFrameParser({ ...asc, channelConfig: 2 });
    expect(stereo.frameLength(f, 0, f.length)).toBe(-1);
    const noise = randomBytes(64 * 1024);
    let hits = 0;
    for (let i = 0; i < 4096; i++) if (p.frameLength(noise, i, noise.length) > 0) hits++;
    expect(hits).toBeLessThan(20);
  });

  it('refuses configurations it cannot delimit', () => {
    expect(() => new AacFrameParser({ ...asc, objectType: 1 })).toThrow(/AAC-LC/);
    expect(() => new AacFrameParser({ ...asc, channelConfig: 0 })).toThrow(/channel configuration/);
  });
});
