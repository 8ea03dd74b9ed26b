// The `recorder` command: help, clear errors and exit codes.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { decodesCleanly } from '@tapo/maintenance';
import { SegmentIndex } from '@tapo/segment-index';
import { REDIS_URL, ROOT, tempDir, uniquePrefix } from './helpers/env.js';
import { makeKilledPlain, makePlain } from './helpers/media.js';

const tmp = tempDir('cli');
const cfg = path.join(tmp.dir, 'cameras.yml');
writeFileSync(cfg, `recordingsDir: ${path.join(tmp.dir, 'rec')}\ncameras: []\n`);
const env = { REDIS_URL, RECORDER_QUEUE_PREFIX: uniquePrefix('cli') };
const recorder = (...args: string[]) =>
  execa(path.join(ROOT, 'node_modules', '.bin', 'recorder'), args, { reject: false, env, cwd: ROOT });

describe('recorder CLI (npx recorder)', () => {
  afterAll(() => tmp.cleanup());

  it('--help lists the commands; each command has --help', async () => {
    const r = await recorder('--help');
    expect(r.exitCode).toBe(0);
    for (const c of ['status', 'prune [--dry-run]', 'repair <file>', 'repair --queue', 'rescan']) expect(r.stdout).toContain(c);
    const p = await recorder('prune', '--help');
    expect(p.exitCode).toBe(0);
    expect(p.stdout).toMatch(/--dry-run prints what would be deleted/);
  }, 30_000);

  it('unknown commands and options are usage errors (exit 2)', async () => {
    const r = await recorder('frobnicate');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown command "frobnicate"/);
    const o = await recorder('prune', '--wat', '--config', cfg);
    expect(o.exitCode).toBe(2);
    expect(o.stderr).toMatch(/wat/);
  }, 30_000);

  it('refuses to queue a file outside recordingsDir; a missing file is named', async () => {
    const q = await recorder('repair', '--queue', '/etc/passwd', '--config', cfg);
    expect(q.exitCode).toBe(2);
    expect(q.stderr).toMatch(/\/etc\/passwd is outside recordingsDir/);
    const m = await recorder('repair', path.join(tmp.dir, 'nope.mp4'), '--config', cfg);
    expect(m.exitCode).toBe(2);
    expect(m.stderr).toMatch(/nope\.mp4: no such file/);
  }, 30_000);

  it('repair <file> --reference --out rebuilds a plain MP4 killed mid-write, with a progress bar', async () => {
    const broken = path.join(tmp.dir, 'broken.mp4');
    const good = path.join(tmp.dir, 'good.mp4');
    const fixed = path.join(tmp.dir, 'fixed.mp4');
    await makeKilledPlain(broken, 6000);
    await makePlain(good, 3);
    const r = await recorder('repair', broken, '--reference', good, '--out', fixed, '--config', cfg);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/broken\.mp4: no-moov/);
    expect(r.stdout).toMatch(/rebuild: \d+ video frames/);
    expect(r.stderr).toMatch(/100%/);
    expect((await decodesCleanly(fixed)).ok).toBe(true);
  }, 60_000);

  it('cameras and segments list the config and the index (no URLs)', async () => {
    const redis = new Redis(REDIS_URL);
    const index = new SegmentIndex(redis, env.RECORDER_QUEUE_PREFIX);
    const t = Date.UTC(2026, 10, 27, 3, 0, 0);
    for (let i = 0; i < 3; i++) {
      await index.upsert({ cameraId: 'porch', file: `porch/2026-11-27/porch-2026112${7}T03000${i}Z.mp4`, startMs: t + i * 1000, durationMs: 1000, bytes: 2_000_000, status: 'ok', host: 'box1' });
    }
    const camCfg = path.join(tmp.dir, 'cams.yml');
    writeFileSync(camCfg, `recordingsDir: ${path.join(tmp.dir, 'rec')}\ncameras:\n  - id: porch\n    url: rtsp://admin:Secr3tPw@10.0.0.9/stream1\n`);
    const c = await recorder('cameras', '--config', camCfg);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/porch\tyes\t60s\taac\t-\t-\t3\t6\.0 MB/);
    expect(c.stdout).not.toContain('Secr3tPw');
    const sg = await recorder('segments', 'porch', '--from', '2026-11-27T02:59:00Z', '--to', '2026-11-27T03:10:00Z', '--config', camCfg);
    expect(sg.exitCode, sg.stderr).toBe(0);
    expect(sg.stdout).toContain('2026-11-27T03:00:01.000Z\t1.0s\t2.0 MB\tok\tbox1');
    expect(sg.stdout).toMatch(/3 segment\(s\) from 2026-11-27T02:59:00.000Z/);
    const bad = await recorder('segments', 'porch', '--from', 'yesterday', '--config', camCfg);
    expect(bad.exitCode).toBe(2);
    await index.clear('porch');
    await redis.quit();
  }, 30_000);

  it('a bad config is reported with the file and field (exit 1)', async () => {
    const bad = path.join(tmp.dir, 'bad.yml');
    writeFileSync(bad, 'cameras:\n  - id: x\n    url: http://nope\n');
    const r = await recorder('status', '--config', bad);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${bad}, camera "x" (cameras[0]), field "url"`);
  }, 30_000);
});
