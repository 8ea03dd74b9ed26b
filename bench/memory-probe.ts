// Memory of the worker recording N cameras, sampled every 250 ms, split into
// anonymous (heap, buffers: this process's own) and file-backed (the node
// binary's pages, shared with every node process) RSS:
//   npx tsx bench/memory-probe.ts [cameras=1] [seconds=60] [node flags...]
// With --heapsnapshot-signal=SIGUSR2 among the flags, writes a heap snapshot
// of the worker at the end to bench/results/tmp/.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startSimCamera } from '@tapo/sim-camera';

const ROOT = path.resolve(import.meta.dirname, '..');
const n = Number(process.argv[2] ?? 1);
const seconds = Number(process.argv[3] ?? 60);
const flags = process.argv.slice(4);
const out = path.join(ROOT, 'bench', 'results', 'tmp');
mkdirSync(out, { recursive: true });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function status(pid: number): Record<string, number> {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) * 1024;
  return { rss: get('VmRSS'), anon: get('RssAnon'), file: get('RssFile') };
}

const camera = await startSimCamera({ user: 'bench', password: 'bench-pass' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-mem-'));
const prefix = `mem-${process.pid}`;
const cfg = path.join(dir, 'cameras.yml');
const lines = [`recordingsDir: ${path.join(dir, 'rec')}`, `concurrency: ${Math.max(16, n)}`, 'minFreeDisk: 0', 'cameras:'];
for (let i = 0; i < n; i++) lines.push(`  - id: cam${i}`, `    url: rtsp://bench:bench-pass@127.0.0.1:${camera.port}/stream1`);
writeFileSync(cfg, lines.join('\n') + '\n');
const env = { ...process.env, REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', RECORDER_QUEUE_PREFIX: prefix, RECORDER_CONFIG: cfg, LOG_FORMAT: 'json', LOG_LEVEL: process.env.MEM_PROBE_LOG_LEVEL ?? 'warn' };
const nodeFlags = flags.length > 0 ? flags : ['--max-semi-space-size=1', '--single-threaded-gc'];
const start = (app: string) => spawn(process.execPath, [...nodeFlags, path.join(ROOT, 'dist', `${app}${app === 'worker' ? process.env.MEM_PROBE_WORKER_SUFFIX ?? '' : ''}.mjs`)], { env, cwd: out, stdio: ['ignore', process.env.MEM_PROBE_STDOUT && app === 'worker' ? 'inherit' : 'ignore', 'inherit'] });
const scheduler = start('scheduler');
const worker = start('worker');
await sleep(Number(process.env.MEM_PROBE_WARMUP_S ?? 15) * 1000);
const samples: Array<Record<string, number>> = [];
const t0 = Date.now();
while (Date.now() - t0 < seconds * 1000) {
  const s = status(worker.pid!);
  samples.push(s);
  if (process.env.MEM_PROBE_TRACE) console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s  rss ${(s.rss! / 1e6).toFixed(1)}  anon ${(s.anon! / 1e6).toFixed(1)} MB`);
  await sleep(250);
}
if (nodeFlags.some((f) => f.startsWith('--heapsnapshot-signal'))) {
  worker.kill('SIGUSR2');
  await sleep(5000);
}
for (const a of [scheduler, worker]) a.kill('SIGTERM');
await Promise.all([scheduler, worker].map((a) => new Promise((r) => a.once('exit', r))));
await camera.stop();
const redis = new Redis(env.REDIS_URL);
const keys = await redis.keys(`${prefix}:*`);
if (keys.length) await redis.del(...keys);
await redis.quit();
rmSync(dir, { recursive: true, force: true });

const mb = (b: number) => (b / 1e6).toFixed(1);
for (const k of ['rss', 'anon', 'file']) {
  const xs = samples.map((s) => s[k]!).sort((a, b) => a - b);
  console.log(`${k.padEnd(5)} min ${mb(xs[0]!)}  median ${mb(xs[Math.floor(xs.length / 2)]!)}  max ${mb(xs[xs.length - 1]!)} MB`);
}
