// The `recorder` command: help, clear errors and exit codes.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { decodesCleanly } from '@tapo/maintenance';
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

  it('a bad config is reported with the file and field (exit 1)', async () => {
    const bad = path.join(tmp.dir, 'bad.yml');
    writeFileSync(bad, 'cameras:\n  - id: x\n    url: http://nope\n');
    const r = await recorder('status', '--config', bad);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${bad}, camera "x" (cameras[0]), field "url"`);
  }, 30_000);
});
