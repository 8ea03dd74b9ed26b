// The scheduler and a worker (the dist bundles under plain node) recording N
// simulated cameras through Redis, for the probes that look inside the
// processes (bench/profile.ts, bench/memory-probe.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startSimCamera } from '@tapo/sim-camera';
import { APP_NODE_FLAGS, deletePrefix } from './cost.js';

const ROOT = path.resolve(import.meta.dirname, '..');
export { APP_NODE_FLAGS };

export interface BenchSystem {
  scheduler: ChildProcess;
  worker: ChildProcess;
  /** SIGTERM both apps, wait for them, stop the camera, delete the Redis keys and the folder. */
  stop(): Promise<void>;
}

export async function startBenchSystem(o: {
  cameras: number;
  /** Names the temp folder and the queue prefix. */
  tag: string;
  /** Node flags per app (default APP_NODE_FLAGS). */
  nodeFlags?: (app: 'scheduler' | 'worker') => string[];
  /** Extra top-level config lines (e.g. `segmentSeconds: 10`). */
  config?: string[];
  /** The apps' working directory (where --cpu-prof / heap snapshots land). */
  cwd?: string;
  logLevel?: string;
  /** The worker's stdout on ours (e.g. --trace-gc). */
  workerStdout?: boolean;
}): Promise<BenchSystem> {
  const camera = await startSimCamera({ user: 'bench', password: 'bench-pass' });
  const dir = mkdtempSync(path.join(os.tmpdir(), `bench-${o.tag}-`));
  const prefix = `${o.tag}-${process.pid}`;
  const cfg = path.join(dir, 'cameras.yml');
  const lines = [`recordingsDir: ${path.join(dir, 'rec')}`, ...(o.config ?? []), `concurrency: ${Math.max(16, o.cameras)}`, 'minFreeDisk: 0', 'cameras:'];
  for (let i = 0; i < o.cameras; i++) lines.push(`  - id: cam${i}`, `    url: rtsp://bench:bench-pass@127.0.0.1:${camera.port}/stream1`);
  writeFileSync(cfg, lines.join('\n') + '\n');
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const env = { ...process.env, REDIS_URL: redisUrl, RECORDER_QUEUE_PREFIX: prefix, RECORDER_CONFIG: cfg, LOG_FORMAT: 'json', LOG_LEVEL: o.logLevel ?? 'warn' };
  const start = (app: 'scheduler' | 'worker') =>
    spawn(process.execPath, [...(o.nodeFlags?.(app) ?? APP_NODE_FLAGS), path.join(ROOT, 'dist', `${app}.mjs`)], {
      env,
      cwd: o.cwd ?? ROOT,
      stdio: ['ignore', o.workerStdout && app === 'worker' ? 'inherit' : 'ignore', 'inherit'],
    });
  const scheduler = start('scheduler');
  const worker = start('worker');
  return {
    scheduler,
    worker,
    async stop() {
      const apps = [scheduler, worker];
      for (const a of apps) a.kill('SIGTERM');
      await Promise.all(apps.map((a) => (a.exitCode !== null || a.signalCode !== null ? undefined : new Promise((r) => a.once('exit', r)))));
      await camera.stop();
      const redis = new Redis(redisUrl);
      await deletePrefix(redis, prefix);
      await redis.quit();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
