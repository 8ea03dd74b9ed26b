import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AacFrameParser } from './aac-frame.js';
import { DEFAULT_NAL_TYPES, groupAccessUnits, type ParamSets } from './h264-nal.js';
import { scanMdat, type ScanResult } from './mdat-scan.js';
import { aacFrame, lengthPrefixed, pps, sei, slice, sps } from './testing/synthetic.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mp4-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const asc = { objectType: 2, samplingIndex: 11, sampleRate: 8000, channelConfig: 1, frameLength: 1024 };

/** Video access units and AAC frames interleaved like ffmpeg's mov muxer writes them. */
function layout() {
  const parts: Array<{ kind: 'v' | 'a'; bytes: number[] }> = [
    { kind: 'v', bytes: lengthPrefixed([sei(), slice(true, 0, 0, 0, 300)]) },
    { kind: 'a', bytes: aacFrame(200) },
    { kind: 'v', bytes: lengthPrefixed([slice(false, 0, 1, 2, 250)]) },
    { kind: 'v', bytes: lengthPrefixed([slice(false, 0, 2, 4, 260)]) },
    { kind: 'a', bytes: aacFrame(150) },
    { kind: 'a', bytes: aacFrame(90) },
    { kind: 'v', bytes: lengthPrefixed([slice(false, 0, 3, 6, 120), slice(false, 460, 3, 6, 140)]) },
    { kind: 'a', bytes: aacFrame(180) },
    { kind: 'v', bytes: lengthPrefixed([slice(false, 0, 4, 8, 400)]) },
  ];
  let off = 0;
  const placed = parts.map((p) => {
    const at = off;
    off += p.bytes.length;
    return { ...p, offset: at };
  });
  return { placed, bytes: Buffer.from(parts.flatMap((p) => p.bytes)) };
}

function params(): { lengthSize: number; ps: ParamSets; allowedTypes: Set<number>; maxNalSize: number } {
  const ps: ParamSets = { sps: new Map(), pps: new Map() };
  groupAccessUnits(Uint8Array.from(lengthPrefixed([sps(), pps()])), 4, ps);
  return { lengthSize: 4, ps, allowedTypes: new Set([...DEFAULT_NAL_TYPES].filter((t) => t < 2 || t > 4)), maxNalSize: 1 << 20 };
}

async function scan(bytes: Buffer, withAudio: boolean, clean: boolean): Promise<ScanResult> {
  const file = path.join(dir, `m${Math.random().toString(36).slice(2)}.bin`);
  writeFileSync(file, bytes);
  const fh = await open(file);
  try {
    return await scanMdat(fh, 0, bytes.length, params(), withAudio ? new AacFrameParser(asc) : undefined, { dataEndIsClean: clean });
  } finally {
    await fh.close();
  }
}

const pairs = (offsets: ArrayLike<number>, sizes: ArrayLike<number>) => Array.from(offsets, (o, i) => [o, sizes[i]]);

describe('walking an mdat without moov', () => {
  it('finds every access unit and splits the audio gaps into AAC frames', async () => {
    const { placed, bytes } = layout();
    const r = await scan(bytes, true, true);
    expect(pairs(r.video.offsets, r.video.sizes)).toEqual(placed.filter((p) => p.kind === 'v').map((p) => [p.offset, p.bytes.length]));
    expect(pairs(r.audio!.offsets, r.audio!.sizes)).toEqual(placed.filter((p) => p.kind === 'a').map((p) => [p.offset, p.bytes.length]));
    expect(Array.from(r.video.sync)).toEqual([0]);
    expect(r.gaps).toBe(3);
    expect(r.unsplitGaps).toBe(0);
    expect(r.endOffset).toBe(bytes.length);
  });

  it('without an audio parser still finds the video, skipping the gaps', async () => {
    const { placed, bytes } = layout();
    const r = await scan(bytes, false, true);
    expect(r.video.offsets.length).toBe(5);
    expect(Array.from(r.video.offsets)).toEqual(placed.filter((p) => p.kind === 'v').map((p) => p.offset));
    expect(r.audio).toBeUndefined();
    expect(r.unsplitGaps).toBe(3);
  });

  it('drops the access unit whose NAL unit is cut at the end of the file', async () => {
    const { placed, bytes } = layout();
    const last = placed[placed.length - 1]!;
    const r = await scan(bytes.subarray(0, last.offset + 100), true, false);
    expect(r.video.offsets.length).toBe(4);
    expect(r.audio!.offsets.length).toBe(4);
    expect(r.endOffset).toBe(last.offset);
  });

  it('drops a picture whose second slice is cut', async () => {
    const { placed, bytes } = layout();
    const twoSlices = placed[6]!;
    const r = await scan(bytes.subarray(0, twoSlices.offset + twoSlices.bytes.length - 50), true, false);
    expect(r.video.offsets.length).toBe(3);
    expect(r.droppedTailSamples).toBe(1);
    expect(r.audio!.offsets.length).toBe(3);
  });

  it('keeps the picture before an audio frame cut at the end, and the complete audio frames', async () => {
    const { placed, bytes } = layout();
    const audio = placed[7]!;
    const r = await scan(bytes.subarray(0, audio.offset + 20), true, false);
    expect(r.video.offsets.length).toBe(4);
    expect(r.audio!.offsets.length).toBe(3);
    expect(r.endOffset).toBe(audio.offset);
  });

  it('reports progress', async () => {
    const { bytes } = layout();
    const file = path.join(dir, 'progress.bin');
    writeFileSync(file, bytes);
    const fh = await open(file);
    const calls: Array<[number, number]> = [];
    await scanMdat(fh, 0, bytes.length, params(), undefined, { dataEndIsClean: true, onProgress: (d, t) => calls.push([d, t]) });
    await fh.close();
    expect(calls[calls.length - 1]).toEqual([bytes.length, bytes.length]);
  });
});
