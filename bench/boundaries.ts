// Segment boundaries over M minutes (full mode): scheduler + worker (dist
// bundles under node, as in production) record one camera in 60 s segments;
// then the worker gets SIGTERM (it finalises the last segment). As in
// test/recording.test.ts:
//  (a) sum of the ffprobe video durations of the closed segments 2..k (the
//      first and the last left out) against the wall clock between the close
//      of the first and the close of segment k (file mtimes: a segment is last
//      written when it closes);
//  (b) largest |start(k) − end(k−1)| between consecutive segments, from the
//      segment muxer's list as the record job logged it in Redis.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import type { SimCamera } from '@tapo/sim-camera';
import { listSegmentFiles } from '@tapo/storage';
import { stopChild, withCleanup } from './children.js';
import { deletePrefix, startApp } from './cost.js';
import { row, type Row } from './table.js';

const FPS = 15;
const SEGMENT_SECONDS = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface BoundariesResult {
  minutes: number;
  segmentSeconds: number;
  segments: Array<{ file: string; mtimeMs: number; videoSeconds: number }>;
  logged: Array<{ file: string; start: number; end: number; duration: number }>;
  workerExit: { code: number | null; signal: string | null; seconds: number };
  sumSeconds: number;
  wallSeconds: number;
  differencePercent: number;
  gapsMs: number[];
  maxGapMs: number;
  rows: Row[];
}

async function videoSeconds(file: string): Promise<number> {
  const r = await execa('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=duration', '-of', 'csv=p=0', file], { reject: false });
  const n = Number(r.stdout.trim().split(/\s+/)[0]);
  return r.exitCode === 0 && Number.isFinite(n) ? n : NaN;
}

export async function measureBoundaries(camera: SimCamera, minutes: number, redisUrl: string): Promise<BoundariesResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-bound-'));
  const prefix = `bench-bound-${process.pid}-${Date.now()}`;
  const cfg = path.join(dir, 'cameras.yml');
  const rec = path.join(dir, 'rec');
  writeFileSync(
    cfg,
    [`recordingsDir: ${rec}`, `segmentSeconds: ${SEGMENT_SECONDS}`, 'minFreeDisk: 0', 'cameras:', '  - id: cam1', `    url: rtsp://\${CAM_USER}:\${CAM_PASSWORD}@127.0.0.1:${camera.port}/stream1`].join('\n') + '\n',
  );
  const env = { REDIS_URL: redisUrl, RECORDER_QUEUE_PREFIX: prefix, RECORDER_CONFIG: cfg, CAM_USER: 'bench', CAM_PASSWORD: 'bench-pass' };
  const redis = new Redis(redisUrl);
  const scheduler = startApp('scheduler', env);
  const worker = startApp('worker', env);
  const cleanup = async () => {
    await Promise.all([stopChild(worker, 'SIGKILL', 1000), stopChild(scheduler, 'SIGKILL', 1000)]);
    await deletePrefix(redis, prefix).catch(() => {});
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  };
  return withCleanup(cleanup, async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const raw = await redis.hget(`${prefix}:record:record-cam1`, 'progress');
      if (raw && (JSON.parse(raw) as { state?: string }).state === 'recording') break;
      if (Date.now() > deadline) throw new Error('boundaries: cam1 not recording after 60 s');
      await sleep(500);
    }
    const until = Date.now() + minutes * 60_000 + 10_000; // +10 s: the last full segment closes before the stop
    while (Date.now() < until) {
      if (worker.exitCode !== null || scheduler.exitCode !== null) throw new Error('boundaries: an app exited while recording');
      process.stderr.write(`boundaries: recording, ${Math.ceil((until - Date.now()) / 1000)} s to go   \r`);
      await sleep(Math.min(10_000, Math.max(0, until - Date.now())));
    }
    process.stderr.write('\n');
    const t0 = Date.now();
    const exited =
      worker.exitCode !== null || worker.signalCode !== null
        ? Promise.resolve({ code: worker.exitCode, signal: worker.signalCode as string | null })
        : new Promise<{ code: number | null; signal: string | null }>((r) => worker.once('exit', (code, signal) => r({ code, signal })));
    await stopChild(worker, 'SIGTERM', 20_000);
    const exit = { ...(await exited), seconds: (Date.now() - t0) / 1000 };
    await stopChild(scheduler, 'SIGTERM', 5000);

    const files = await listSegmentFiles(rec, 'cam1');
    const segments: BoundariesResult['segments'] = [];
    for (const f of files) segments.push({ file: path.relative(rec, f.path), mtimeMs: f.mtimeMs, videoSeconds: await videoSeconds(f.path) });
    if (segments.length < 3) throw new Error(`boundaries: only ${segments.length} segments in ${minutes} min (need 3: give at least --boundaries-minutes=2)`);
    const k = segments.length - 2;
    const wallSeconds = (segments[k]!.mtimeMs - segments[0]!.mtimeMs) / 1000;
    const sumSeconds = segments.slice(1, k + 1).reduce((a, s) => a + s.videoSeconds, 0);
    const differencePercent = ((sumSeconds - wallSeconds) / wallSeconds) * 100;

    const lines = await redis.lrange(`${prefix}:record:record-cam1:logs`, 0, -1);
    const logged = lines
      .map((l) => /segment closed: (\S+) start=([\d.]+) end=([\d.]+) duration=([\d.]+)s/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => ({ file: m[1]!, start: Number(m[2]), end: Number(m[3]), duration: Number(m[4]) }));
    const gapsMs: number[] = [];
    for (let i = 1; i < logged.length; i++) gapsMs.push(Math.abs(logged[i]!.start - logged[i - 1]!.end) * 1000);
    const maxGapMs = gapsMs.length ? Math.max(...gapsMs) : NaN;
    const result: Omit<BoundariesResult, 'rows'> = { minutes, segmentSeconds: SEGMENT_SECONDS, segments, logged, workerExit: exit, sumSeconds, wallSeconds, differencePercent, gapsMs, maxGapMs };
    return { ...result, rows: boundaryRows(result) };
  });
}

export function boundaryRows(r: Omit<BoundariesResult, 'rows'>): Row[] {
  const k = r.segments.length - 2;
  const loggedNote = r.logged.length === r.segments.length ? '' : ` (${r.logged.length} logged for ${r.segments.length} files)`;
  return [
    row(`segment durations vs wall clock (${r.minutes} min, ${r.segmentSeconds} s segments)`, [r.differencePercent], {
      target: 'within ±0.5 %',
      limit: { absMax: 0.5 },
      unit: '%',
      digits: 3,
      runs: `1 (${k} segment${k === 1 ? '' : 's'})`,
      how: `sum of ffprobe video durations of segments 2..${k + 1} (${r.sumSeconds.toFixed(3)} s) vs mtime(${k + 1}) − mtime(1) (${r.wallSeconds.toFixed(3)} s); scheduler + worker, 1 camera`,
    }),
    row(`largest gap between consecutive segments (${r.minutes} min)`, [r.maxGapMs], {
      target: `≤ 1 frame (${(1000 / FPS).toFixed(1)} ms)`,
      limit: { max: 1000 / FPS + 1e-3 },
      unit: 'ms',
      digits: 1,
      runs: `1 (${r.gapsMs.length} boundaries)`,
      how: `max |start(k) − end(k−1)| of the "segment closed" lines in the record job's logs (segment muxer list)${loggedNote}`,
    }),
  ];
}
