// replaceWhenVerified: the fast proof (every sample's structure + first and last GOP decoded) takes a
// good repaired file and refuses one whose middle sample is broken, like the full decode; the original
// stays untouched when refused.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceWhenVerified, verifyPlays } from '../libs/maintenance/src/repair-steps.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'repair-verify-'));
const f = (n: string) => path.join(dir, n);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000',
    '-c:v', 'libx264', '-g', '15', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '32k', '-t', '8', '-movflags', '+faststart', f('good.mp4')]);
}, 60_000);

function middleSample(file: string): { pos: number } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pos', '-of', 'csv=p=0', file]).toString().trim().split('\n');
  return { pos: Number(out[Math.floor(out.length / 2)]) };
}

describe('replaceWhenVerified', () => {
  it('fast proof: a good file replaces the original; the detail says what was decoded', async () => {
    copyFileSync(f('good.mp4'), f('orig-1.mp4'));
    copyFileSync(f('good.mp4'), f('tmp-1.mp4'));
    const r = await replaceWhenVerified(f('orig-1.mp4'), f('tmp-1.mp4'));
    expect(r.replaced, r.detail).toBe(true);
    expect(r.detail).toMatch(/walked to their ends, decoded the first GOP \(0-1\.0 s\) and the last \(from 7\.0 s/);
    expect(existsSync(f('tmp-1.mp4'))).toBe(false);
  });

  it('fast proof and full decode both refuse a broken NAL length in the middle sample; the original stays', async () => {
    copyFileSync(f('good.mp4'), f('bad.mp4'));
    const { pos } = middleSample(f('bad.mp4'));
    const fd = openSync(f('bad.mp4'), 'r+');
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, pos);
    b.writeUInt32BE(b.readUInt32BE(0) + 9);
    writeSync(fd, b, 0, 4, pos);
    closeSync(fd);
    expect((await verifyPlays(f('bad.mp4'))).detail).toMatch(/samples do not check.*past the sample's end/);
    expect((await verifyPlays(f('bad.mp4'), { fullDecode: true })).ok).toBe(false);
    copyFileSync(f('good.mp4'), f('orig-2.mp4'));
    copyFileSync(f('bad.mp4'), f('tmp-2.mp4'));
    const r = await replaceWhenVerified(f('orig-2.mp4'), f('tmp-2.mp4'));
    expect(r.replaced).toBe(false);
    expect(readFileSync(f('orig-2.mp4')).equals(readFileSync(f('good.mp4')))).toBe(true);
    expect(existsSync(f('tmp-2.mp4'))).toBe(false);
  });

  it('full decode on request', async () => {
    const r = await verifyPlays(f('good.mp4'), { fullDecode: true });
    expect(r.ok, r.detail).toBe(true);
    expect(r.detail).toMatch(/duration 8/);
  });
});
