// Issue 13, the theft window: house A records the simulated camera (20 s segments) and sends the
// segment being recorded, as it is written, to office B (http) and to a bucket (s3rver). Mid-segment
// every process of A is killed -9 at the same instant (worker, its ffmpeg, scheduler): what reached
// A's disk but is missing on B and in the bucket is the theft window. B then stores its live copy as
// an ordinary indexed segment once A has been silent for 20 s.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SegmentIndex } from '@tapo/segment-index';
import { listSegmentFiles } from '@tapo/storage';
import { ffprobe } from './helpers/ffprobe.js';
import { ffmpegsByCamera } from './helpers/procs.js';
import { S3RVER_KEYS, startS3rver } from './helpers/s3rver.js';
import { ROOT, sleep, waitFor } from './helpers/env.js';
import { TestStack } from './helpers/stack.js';

const TOKEN = 'house-a-live-token-0123456789';
const BUCKET = 'offsite';

describe('live copies: the theft window', () => {
  const a = new TestStack('live-house');
  const b = new TestStack('live-office');
  let s3: Awaited<ReturnType<typeof startS3rver>>;

  beforeAll(async () => {
    s3 = await startS3rver(a.dir, BUCKET);
    b.writeConfig([], `receive:\n  tokens:\n    - { id: house-a, token: ${TOKEN}, cameraPrefix: "house-" }`);
    await b.start('board');
    await waitFor('office board up', async () => (await fetch(`http://127.0.0.1:${b.boardPort}/api/health`).catch(() => undefined))?.ok, 30_000);
    await a.startCamera();
    a.writeConfig(
      [{ id: 'cam1', segmentSeconds: 20 }],
      `replicas:
  - { id: office, type: http, url: "http://127.0.0.1:${b.boardPort}", token: ${TOKEN} }
  - { id: bucket, type: s3, endpoint: "${s3.endpoint}", bucket: ${BUCKET}, accessKeyId: "\${S3_KEY_ID}", secretAccessKey: "\${S3_SECRET}" }`,
    );
    await a.start('scheduler', S3RVER_KEYS);
    await a.start('worker', S3RVER_KEYS);
    await a.start('board', S3RVER_KEYS);
  }, 90_000);

  afterAll(async () => {
    for (const s of [a, b]) {
      await s.stopApps().catch(() => {});
      await s.cleanup();
    }
    await s3?.close();
  });

  it('kill -9 of every process of A mid-segment: B and the bucket hold all but the last second or two', async () => {
    // the first segment went whole once closed, and its chunks were deleted from the bucket (joined)
    await waitFor('a closed segment whole in the bucket, its chunks gone', async () => {
      const segs = await listSegmentFiles(a.recordingsDir, 'cam1');
      if (segs.length < 2) return false;
      const first = segs[0]!.path;
      const firstKey = `tapo-recorder/cam1/${path.basename(path.dirname(first))}/${path.basename(first)}`;
      const keys = (await s3.list(firstKey)).map((o) => o.key);
      return keys.includes(firstKey) && !keys.some((k) => k.includes('.live/'));
    }, 90_000, 250);
    // the second segment, 9-14 s in (the first one starts with ffmpeg's probing)
    let current = '';
    await waitFor(
      'the second segment 9+ s in',
      async () => {
        const segs = await listSegmentFiles(a.recordingsDir, 'cam1');
        if (segs.length < 2) return false;
        current = segs.at(-1)!.path;
        const d = await ffprobe(current).catch(() => undefined);
        return (d?.durationSeconds ?? 0) >= 9 + Math.random() * 5;
      },
      90_000,
      250,
    );
    // A's board: per target, how far behind live it is, bytes and requests per camera-hour
    type Live = { cameraId: string; lagSeconds: number; bytesPerHour: number; requestsPerHour: number; liveRequestsPerHour: number; up: boolean };
    let live: Record<string, Live[]> = {};
    await waitFor('live figures on the board', async () => {
      const r = (await (await fetch(`http://127.0.0.1:${a.boardPort}/api/replicas`)).json()) as { replicas: Array<{ id: string; live?: Live[] }> };
      live = Object.fromEntries(r.replicas.map((x) => [x.id, x.live ?? []]));
      return live.office?.length === 1 && live.bucket?.length === 1;
    }, 20_000, 250);
    console.log(`[measure] live copies on A's board: ${Object.entries(live).map(([id, [l]]) => `${id} ${l!.lagSeconds} s behind, ${(l!.bytesPerHour / 1e6).toFixed(0)} MB/camera-h, ${l!.requestsPerHour} requests/camera-h`).join('; ')}`);
    expect(live.office![0]).toMatchObject({ cameraId: 'cam1', up: true });
    expect(live.office![0]!.lagSeconds).toBeLessThan(5);
    // live chunks: ≤ 1 request per chunkSeconds (2 s), 1800 per hour (the whole uploads come on top)
    expect(live.bucket![0]!.liveRequestsPerHour).toBeLessThanOrEqual(1900);
    const pageText = await (await fetch(`http://127.0.0.1:${a.boardPort}/`)).text();
    expect(pageText).toContain('behind');
    if (existsSync('/usr/bin/chromium')) {
      // the owner's view of it: the "Off-site copies" table on a phone and on a desktop
      const shots = path.join(ROOT, 'artifacts', 'screenshots');
      mkdirSync(shots, { recursive: true });
      const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
      try {
        for (const [name, viewport] of [['phone', { width: 390, height: 844 }], ['desktop', { width: 1280, height: 900 }]] as const) {
          const page = await browser.newPage({ viewport });
          await page.goto(`http://127.0.0.1:${a.boardPort}/`);
          await page.locator('.live-lag').first().waitFor({ timeout: 15_000 });
          await page.locator('.card.replica').first().scrollIntoViewIfNeeded();
          await page.screenshot({ path: path.join(shots, `offsite-copies-${name}.png`), fullPage: true });
          // nothing wider than the phone's screen
          if (name === 'phone') expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
          await page.close();
        }
      } finally {
        await browser.close();
      }
    }
    const metrics = await (await fetch(`http://127.0.0.1:${a.boardPort}/metrics`)).text();
    expect(metrics).toMatch(/tapo_replica_live_lag_seconds\{target="office",camera="cam1"\} \d/);
    const ffmpegs = ffmpegsByCamera(a.recordingsDir).get('cam1') ?? [];
    expect(ffmpegs.length).toBe(1);
    const pids = [...a.apps.map((x) => x.pid), ...ffmpegs.map((p) => p.pid)];
    const killedAt = Date.now();
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    a.apps = [];
    await sleep(500);

    const segs = await listSegmentFiles(a.recordingsDir, 'cam1');
    current = segs.at(-1)!.path;
    const name = path.basename(current);
    const onA = await ffprobe(current);
    // B: the hidden live file (not yet a stored segment)
    const bName = name.replace(/^cam1-/, 'house-cam1-');
    const bDir = path.join(b.recordingsDir, 'house-cam1', path.basename(path.dirname(current)));
    const bLive = path.join(bDir, `.${bName}.live`);
    expect(existsSync(bLive), `${bLive} exists`).toBe(true);
    const bProbe = await ffprobe(bLive);
    // the bucket: the segment's chunks
    const chunkPrefix = `tapo-recorder/cam1/${path.basename(path.dirname(current))}/${name}.live/`;
    const fromBucket = await s3.joinedLive(chunkPrefix);
    expect(fromBucket.chunks).toBeGreaterThan(0);
    const joined = path.join(a.dir, 'from-bucket.mp4');
    writeFileSync(joined, fromBucket.bytes);
    const s3Probe = await ffprobe(joined);
    const httpWindow = onA.durationSeconds - bProbe.durationSeconds;
    const s3Window = onA.durationSeconds - s3Probe.durationSeconds;
    console.log(
      `[measure] theft window: http ${httpWindow.toFixed(2)} s, s3 ${s3Window.toFixed(2)} s ` +
        `(A's disk held ${onA.durationSeconds.toFixed(2)} s of ${name}; B ${bProbe.durationSeconds.toFixed(2)} s; bucket ${s3Probe.durationSeconds.toFixed(2)} s in ${fromBucket.chunks} chunks)`,
    );
    expect(bProbe.ok && s3Probe.ok).toBe(true);
    expect(httpWindow).toBeLessThan(5);
    expect(s3Window).toBeLessThan(8);

    // from the bucket, on any box with the config: recorder restore joins the stolen segment's chunks
    const out = path.join(a.dir, 'restored');
    const restore = await execa(
      path.join(ROOT, 'node_modules', '.bin', 'recorder'),
      ['restore', '--from', 'bucket', '--camera', 'cam1', '--from-time', new Date(killedAt - 120_000).toISOString(), '--to-time', new Date(killedAt).toISOString(), '--out', out, '--config', a.configFile],
      { reject: false, env: { ...process.env, ...a.env(), ...S3RVER_KEYS }, cwd: ROOT },
    );
    console.log(`[restore] ${restore.stdout}\n${restore.stderr}`);
    expect(restore.exitCode, restore.stdout + restore.stderr).toBe(0);
    const restored = path.join(out, 'cam1', path.basename(path.dirname(current)), name);
    expect(existsSync(restored), restore.stdout).toBe(true);
    const restoredProbe = await ffprobe(restored, { countFrames: true });
    expect(restoredProbe.ok).toBe(true);
    console.log(`[measure] restored from the bucket after the theft: ${restoredProbe.durationSeconds.toFixed(2)} s of ${name}`);
    expect(restoredProbe.durationSeconds).toBeGreaterThan(s3Probe.durationSeconds - 1);

    // B stores it as an ordinary segment once A has been silent for 20 s
    const bFile = path.join(bDir, bName);
    await waitFor('the live copy stored on B', () => existsSync(bFile), 45_000, 250);
    console.log(`[measure] live copy stored on B ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    expect(existsSync(bLive)).toBe(false);
    const rel = path.relative(b.recordingsDir, bFile);
    await waitFor('indexed on B', async () => Boolean(await new SegmentIndex(b.redis, b.prefix).get('house-cam1', rel)), 10_000);
    const stored = await ffprobe(bFile, { countFrames: true });
    expect(stored.ok).toBe(true);
    expect(readdirSync(bDir).filter((f) => f.endsWith('.live'))).toEqual([]);
  }, 180_000);
});
