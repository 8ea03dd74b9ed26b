// checkSamples on real ffmpeg output: good plain and fragmented files pass; a file whose middle video
// sample has a broken NAL length, a keyframe flag taken away, or overlapping samples is refused.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, openSync, readSync, rmSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSamples } from './sample-check.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mp4-samples-'));
const f = (n: string) => path.join(dir, n);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ffmpeg = (args: string[]) => execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args]);
const INPUTS = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000'];
const CODECS = ['-c:v', 'libx264', '-g', '15', '-bf', '2', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '32k', '-t', '4'];

/** ffprobe's video packets (file offset, size, keyframe). */
function packets(file: string): Array<{ pos: number; size: number; key: boolean }> {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pos,size,flags', '-of', 'csv=p=0', file]).toString();
  return out
    .trim()
    .split('\n')
    .map((l) => {
      const [size, pos, flags] = l.split(',');
      return { pos: Number(pos), size: Number(size), key: (flags ?? '').includes('K') };
    });
}

function patch(file: string, at: number, bytes: number[]): void {
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.from(bytes), 0, bytes.length, at);
  closeSync(fd);
}

function read(file: string, at: number, n: number): Buffer {
  const fd = openSync(file, 'r');
  const b = Buffer.alloc(n);
  readSync(fd, b, 0, n, at);
  closeSync(fd);
  return b;
}

beforeAll(() => {
  ffmpeg([...INPUTS, ...CODECS, '-movflags', '+faststart', f('plain.mp4')]);
  ffmpeg([...INPUTS, ...CODECS, '-movflags', '+frag_keyframe+empty_moov+default_base_moof', f('frag.mp4')]);
}, 60_000);

describe('checkSamples', () => {
  it('passes a good plain MP4 and gives its GOPs', async () => {
    const r = await checkSamples(f('plain.mp4'));
    expect(r.ok, r.detail).toBe(true);
    const p = packets(f('plain.mp4'));
    expect(r.videoSamples).toBe(p.length);
    expect(r.syncSamples).toBe(p.filter((x) => x.key).length);
    expect(r.gops).toMatchObject({ firstGopEnd: 1, lastGopStart: 3, duration: 4, gops: 4 });
    expect(r.bytesRead).toBeGreaterThan(0);
  });

  it('passes a good fragmented MP4', async () => {
    const r = await checkSamples(f('frag.mp4'));
    expect(r.ok, r.detail).toBe(true);
    expect(r.videoSamples).toBe(packets(f('frag.mp4')).length);
    expect(r.gops?.gops).toBe(4);
    expect(r.gops?.lastGopStart).toBeCloseTo(3, 1);
  });

  for (const name of ['plain.mp4', 'frag.mp4']) {
    it(`refuses ${name} with a broken NAL length in its middle sample`, async () => {
      const bad = f(`bad-len-${name}`);
      copyFileSync(f(name), bad);
      const p = packets(bad);
      const mid = p[Math.floor(p.length / 2)]!;
      const len = read(bad, mid.pos, 4).readUInt32BE(0);
      const b = Buffer.alloc(4);
      b.writeUInt32BE(len + 3);
      patch(bad, mid.pos, [...b]);
      const r = await checkSamples(bad);
      expect(r.ok).toBe(false);
      expect(r.detail).toMatch(new RegExp(`video sample ${Math.floor(p.length / 2) + 1} of ${p.length}.*past the sample's end`));
    });
  }

  it('refuses a keyframe flag that does not match the slices', async () => {
    // The middle sample's first NAL header turned into an IDR slice header: an unflagged IDR.
    const bad = f('bad-idr.mp4');
    copyFileSync(f('plain.mp4'), bad);
    const p = packets(bad);
    const i = p.findIndex((x, k) => k > p.length / 2 && !x.key);
    let pos = p[i]!.pos;
    // Find the slice NAL (skip SEI etc.).
    for (;;) {
      const h = read(bad, pos, 5);
      if ((h[4]! & 0x1f) === 1) break;
      pos += 4 + h.readUInt32BE(0);
    }
    patch(bad, pos + 4, [0x65]);
    const r = await checkSamples(bad);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/holds an IDR slice but is not flagged as a keyframe/);
  });

  it('refuses a random file and a moov-at-end one (not its job: classify first)', async () => {
    ffmpeg([...INPUTS, ...CODECS, f('moov-at-end.mp4')]);
    const r = await checkSamples(f('moov-at-end.mp4'));
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/moov-at-end/);
  });
});
