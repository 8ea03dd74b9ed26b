// The `recorder` command: help, clear errors and exit codes.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { decodesCleanly } from '@tapo/maintenance';
import { SegmentIndex } from '@tapo/segment-index';
import { REDIS_URL, ROOT, tempDir, uniquePrefix } from './helpers/env.js';
import { makeFragmented, makeKilledPlain, makePlain } from './helpers/media.js';

const tmp = tempDir('cli');
const cfg = path.join(tmp.dir, 'cameras.yml');
writeFileSync(cfg, `recordingsDir: ${path.join(tmp.dir, 'rec')}\ncameras: []\n`);
const env = { REDIS_URL, RECORDER_QUEUE_PREFIX: uniquePrefix('cli') };
const recorder = (...args: string[]) =>
  execa(path.join(ROOT, 'node_modules', '.bin', 'recorder'), args, { reject: false, env, cwd: ROOT });

describe('recorder CLI (npx recorder)', () => {
  afterAll(() => tmp.cleanup());

  it('--help lists the commands; each command has --help', async () => {
    await recorder('--help'); // builds dist/cli.mjs first if a source is newer
    const t0 = performance.now();
    const r = await recorder('--help');
    console.log(`[measure] recorder --help: ${(performance.now() - t0).toFixed(0)} ms (the CLI bundle; target 300 ms in BENCHMARKS.md)`);
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

  it('keygen prints a new parseable key on stdout (two runs differ) and the warning on stderr, reading no config', async () => {
    // A cameras file that already wants the key (not set yet): keygen does not read it.
    const wants = path.join(tmp.dir, 'wants-key.yml');
    writeFileSync(wants, `recordingsDir: ${path.join(tmp.dir, 'rec')}\ncameras: []\nreplicas:\n  - { id: nas, type: directory, path: ${path.join(tmp.dir, 'nas')}, encryption: { key: "\${REPLICA_KEY}" } }\n`);
    const { parseReplicaKey } = await import('@tapo/replica-crypto');
    const runs = [await recorder('keygen', '--config', wants), await recorder('keygen')];
    for (const r of runs) {
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout.split('\n')).toHaveLength(1);
      expect(parseReplicaKey(r.stdout, 'keygen output').id).toMatch(/^[0-9a-f]{16}$/);
      expect(r.stderr).toMatch(/Keep a copy OFF this box/);
      expect(r.stderr).toMatch(/losing the key loses the footage/);
      expect(r.stderr).toMatch(/REPLICA_KEY=<the key> in the env file/);
      expect(r.stderr).toContain('key: ${REPLICA_KEY}');
      expect(r.stderr).not.toContain(r.stdout);
    }
    expect(runs[0]!.stdout).not.toBe(runs[1]!.stdout);
    expect((await recorder('keygen', 'extra')).exitCode).toBe(2);
    expect((await recorder('keygen', '--help')).stdout).toMatch(/losing the key\nloses the footage/);
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

  it('repair and verify work on loose files in an empty folder, with no cameras file (issue 12)', async () => {
    const loose = tempDir('cli-loose');
    try {
      const broken = path.join(loose.dir, 'broken.mp4');
      const good = path.join(loose.dir, 'good.mp4');
      const cut = path.join(loose.dir, 'cut.mp4');
      await makeKilledPlain(broken, 5000);
      await makePlain(good, 3);
      await makeFragmented(path.join(loose.dir, 'frag.mp4'), 4);
      const frag = readFileSync(path.join(loose.dir, 'frag.mp4'));
      writeFileSync(cut, frag.subarray(0, Math.floor(frag.length * 0.7)));
      // Not RECORDER_CONFIG, not --config, no cameras.yml where it runs: nothing needs one.
      const bare = { REDIS_URL, RECORDER_QUEUE_PREFIX: env.RECORDER_QUEUE_PREFIX };
      const run = (...args: string[]) =>
        execa(path.join(ROOT, 'node_modules', '.bin', 'recorder'), args, { reject: false, env: bare, extendEnv: false, cwd: loose.dir });
      const v = await run('verify', 'good.mp4');
      expect(v.exitCode, v.stdout + v.stderr).toBe(0);
      expect(v.stdout).toMatch(/good\.mp4: moov-at-end/);
      expect(v.stdout).toMatch(/plays as it is: 45 video frames decode/);
      const vb = await run('verify', 'broken.mp4');
      expect(vb.exitCode).toBe(1);
      expect(vb.stdout).toMatch(/no-moov/);
      expect(vb.stdout).toMatch(/recorder repair would: rebuild/);
      expect(vb.stdout).toMatch(/verdict: does not play as it is; repairable/);
      const vc = await run('verify', 'cut.mp4');
      expect(vc.stdout).toMatch(/fragmented-partial/);
      expect(vc.stdout).toMatch(/plays as it is: \d+ video frames decode/);
      // Without a reference the no-moov file cannot be rebuilt: a clear error naming the fix.
      const nr = await run('repair', 'broken.mp4', '--out', 'x.mp4');
      expect(nr.exitCode).toBe(2);
      expect(nr.stderr).toMatch(/give a good recording of the same camera with --reference/);
      const r = await run('repair', 'broken.mp4', '--reference', 'good.mp4', '--out', 'fixed.mp4');
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/rebuild: \d+ video frames/);
      expect((await decodesCleanly(path.join(loose.dir, 'fixed.mp4'))).ok).toBe(true);
      const t = await run('repair', 'cut.mp4');
      expect(t.exitCode, t.stdout + t.stderr).toBe(0);
      expect((await run('verify', 'cut.mp4')).exitCode).toBe(0);
      // Commands that need the cameras file say so.
      const p = await run('prune');
      expect(p.exitCode).toBe(1);
      expect(p.stderr).toMatch(/config file not found \(recorder prune needs the cameras file/);
      // An explicit --config that does not exist is an error even for repair.
      const e = await run('verify', 'good.mp4', '--config', 'missing.yml');
      expect(e.exitCode).toBe(1);
      expect(e.stderr).toMatch(/missing\.yml: config file not found/);
    } finally {
      loose.cleanup();
    }
  }, 90_000);

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
