// Cost per camera: bare ffmpeg processes (the original scripts' way) against
// the whole system (scheduler + worker + Redis), same ffmpeg arguments, same
// simulated camera (one shared encoder: its CPU is reported apart).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { buildRecordArgs } from '@tapo/ffmpeg';
import { ensureDayFolders, ffmpegSegmentPattern } from '@tapo/storage';
import type { SimCamera } from '@tapo/sim-camera';
import { onCleanup, stopChild, track } from './children.js';
import { childrenOf, cpuSeconds, pidsByName, rssBytes } from './procstat.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * From "every camera records" to the start of the system window. A node
 * process holds ~10 MB of startup garbage (parsing the bundle, first
 * connections) until V8's memory reducer runs 9-13 s after start
 * (measured with bench/memory-probe.ts: worker 86-92 MB before, 69-81 after);
 * cameras record ~3 s after start, so the window (steady state) starts ~15 s
 * after start. The startup peak is reported apart (VmHWM).
 */
const SETTLE_MS = 12_000;

function highWaterBytes(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface CostResult {
  cameras: number;
  windowSeconds: number;
  bareCpuPerCameraMinute: number;
  systemCpuPerCameraMinute: number;
  ratio: number;
  systemParts: { ffmpeg: number; worker: number; scheduler: number; redis: number };
  /** Peak VmRSS during the window (steady state: the window starts SETTLE_MS after every camera records). */
  workerRssPeakMb: number;
  /** VmHWM at the end: the highest RSS since the worker started, startup included. */
  workerRssHighWaterMb: number;
  schedulerRssPeakMb: number;
  redisCommandsPerSecondPerCamera: number;
  simCameraCpuPercent: number;
  /** INFO memory used_memory after minus before the system window (shared Redis: noisy). */
  redisUsedMemoryDeltaBytes: number;
}

async function bare(n: number, url: string, windowMs: number): Promise<{ cpu: number; sim: number; secs: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-bare-'));
  const procs: ChildProcess[] = [];
  const off = onCleanup(() => {
    for (const p of procs) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    for (let i = 0; i < n; i++) {
      const id = `cam${i}`;
      await ensureDayFolders(dir, id);
      const args = buildRecordArgs({ url, outputPattern: ffmpegSegmentPattern(dir, id), segmentSeconds: 60, audio: 'aac' });
      // Same pipes as the worker gives it (progress on 1, log on 2, segment list on 3), drained.
      const p = track(spawn('ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } }));
      for (const s of [p.stdout, p.stderr, p.stdio[3]]) (s as NodeJS.ReadableStream | null)?.resume();
      procs.push(p);
    }
    await sleep(5000);
    const pids = procs.map((p) => p.pid!);
    const alive = procs.filter((p) => p.exitCode === null && p.signalCode === null).length;
    if (alive !== n) throw new Error(`only ${alive} of ${n} bare ffmpegs are running`);
    const c0 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
    const t0 = Date.now();
    await sleep(windowMs);
    const c1 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
    return { cpu: c1 - c0, sim: 0, secs: (Date.now() - t0) / 1000 };
  } finally {
    off();
    await Promise.all(procs.map((p) => stopChild(p, 'SIGKILL', 1000)));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The node flags production runs the apps with (package.json, Dockerfile, systemd units). */
export const APP_NODE_FLAGS = ['--max-semi-space-size=1', '--single-threaded-gc'];

/** Runs an app the way production does: the bundle from scripts/build.mjs, plain node, the same flags. */
export function startApp(name: string, env: NodeJS.ProcessEnv): ChildProcess {
  const flags = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? APP_NODE_FLAGS;
  return track(spawn(process.execPath, [...flags, path.join(ROOT, 'dist', `${name}.mjs`)], {
    cwd: ROOT,
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  }));
}

/** Deletes every key under `prefix:` (SCAN, not KEYS: the Redis may be busy). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

async function system(n: number, camera: SimCamera, windowMs: number, redisUrl: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-sys-'));
  const prefix = `bench-${process.pid}-${n}-${Date.now()}`;
  const cfg = path.join(dir, 'cameras.yml');
  const lines = [`recordingsDir: ${path.join(dir, 'rec')}`, `concurrency: ${Math.max(16, n)}`, 'minFreeDisk: 0', 'cameras:'];
  for (let i = 0; i < n; i++) lines.push(`  - id: cam${i}`, `    url: rtsp://\${CAM_USER}:\${CAM_PASSWORD}@127.0.0.1:${camera.port}/stream1`);
  writeFileSync(cfg, lines.join('\n') + '\n');
  const env = { REDIS_URL: redisUrl, RECORDER_QUEUE_PREFIX: prefix, RECORDER_CONFIG: cfg, CAM_USER: 'bench', CAM_PASSWORD: 'bench-pass' };
  const redis = new Redis(redisUrl);
  const scheduler = startApp('scheduler', env);
  const worker = startApp('worker', env);
  const off = onCleanup(async () => {
    worker.kill('SIGKILL');
    scheduler.kill('SIGKILL');
    await deletePrefix(redis, prefix);
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    // All cameras recording (heartbeat state).
    const deadline = Date.now() + 120_000;
    for (;;) {
      const states = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const raw = await redis.hget(`${prefix}:record:record-cam${i}`, 'progress');
          return raw ? (JSON.parse(raw) as { state?: string }).state : undefined;
        }),
      );
      if (states.every((s) => s === 'recording')) break;
      if (Date.now() > deadline) throw new Error(`only ${states.filter((s) => s === 'recording').length}/${n} cameras recording after 120 s`);
      await sleep(500);
    }
    await sleep(SETTLE_MS);
    const redisPid = pidsByName('redis-server')[0];
    const ff = () => childrenOf(worker.pid!);
    const snap = () => ({
      ffmpeg: ff().reduce((a, p) => a + cpuSeconds(p), 0),
      worker: cpuSeconds(worker.pid!),
      scheduler: cpuSeconds(scheduler.pid!),
      redis: redisPid ? cpuSeconds(redisPid) : 0,
      sim: cpuSeconds(camera.pid),
    });
    const info = async () => Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? 0);
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
    const mem0 = await usedMemory();
    const cmd0 = await info();
    const s0 = snap();
    const t0 = Date.now();
    let wPeak = 0;
    let sPeak = 0;
    while (Date.now() - t0 < windowMs) {
      wPeak = Math.max(wPeak, rssBytes(worker.pid!));
      sPeak = Math.max(sPeak, rssBytes(scheduler.pid!));
      await sleep(1000);
    }
    const s1 = snap();
    const secs = (Date.now() - t0) / 1000;
    const wHigh = highWaterBytes(worker.pid!);
    const cmd1 = await info();
    const mem1 = await usedMemory();
    return {
      parts: { ffmpeg: s1.ffmpeg - s0.ffmpeg, worker: s1.worker - s0.worker, scheduler: s1.scheduler - s0.scheduler, redis: s1.redis - s0.redis },
      sim: (s1.sim - s0.sim) / secs,
      wPeak,
      wHigh,
      sPeak,
      // Note: the shared Redis also serves anything else running; the bench expects a quiet machine.
      cmdsPerSecPerCamera: (cmd1 - cmd0 - 2) / secs / n,
      memDelta: mem1 - mem0,
      secs,
    };
  } finally {
    off();
    await Promise.all([stopChild(worker, 'SIGTERM', 3000), stopChild(scheduler, 'SIGTERM', 3000)]);
    await deletePrefix(redis, prefix);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function measureCost(n: number, camera: SimCamera, windowSeconds: number, redisUrl: string): Promise<CostResult> {
  const url = camera.url('stream1', true);
  const a = await bare(n, url, windowSeconds * 1000);
  const b = await system(n, camera, windowSeconds * 1000, redisUrl);
  const perCamMin = (cpu: number, secs: number) => cpu / n / (secs / 60);
  const sysCpu = b.parts.ffmpeg + b.parts.worker + b.parts.scheduler + b.parts.redis;
  // The system window is sampled once a second and may run a little over windowSeconds: rates use its measured length.
  return {
    cameras: n,
    windowSeconds,
    bareCpuPerCameraMinute: perCamMin(a.cpu, a.secs),
    systemCpuPerCameraMinute: perCamMin(sysCpu, b.secs),
    ratio: perCamMin(sysCpu, b.secs) / Math.max(1e-9, perCamMin(a.cpu, a.secs)),
    systemParts: b.parts,
    workerRssPeakMb: b.wPeak / 1e6,
    workerRssHighWaterMb: b.wHigh / 1e6,
    schedulerRssPeakMb: b.sPeak / 1e6,
    redisCommandsPerSecondPerCamera: b.cmdsPerSecPerCamera,
    simCameraCpuPercent: b.sim * 100,
    redisUsedMemoryDeltaBytes: b.memDelta,
  };
}
