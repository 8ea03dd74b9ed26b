// Memory of the worker recording N cameras, sampled every 250 ms, split into
// anonymous (heap, buffers: this process's own) and file-backed (the node
// binary's pages, shared with every node process) RSS:
//   npx tsx bench/memory-probe.ts [cameras=1] [seconds=60] [node flags...]
// With --heapsnapshot-signal=SIGUSR2 among the flags, writes a heap snapshot
// of the worker at the end to bench/results/tmp/. Environment:
// MEM_PROBE_WARMUP_S (default 15) before sampling, MEM_PROBE_TRACE=1 prints
// every sample, MEM_PROBE_STDOUT=1 shows the worker's stdout (--trace-gc),
// MEM_PROBE_LOG_LEVEL its log level.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { APP_NODE_FLAGS, startBenchSystem } from './bench-system.js';

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

const nodeFlags = flags.length > 0 ? flags : APP_NODE_FLAGS;
const system = await startBenchSystem({
  cameras: n,
  tag: 'mem',
  nodeFlags: () => nodeFlags,
  cwd: out,
  logLevel: process.env.MEM_PROBE_LOG_LEVEL ?? 'warn',
  workerStdout: Boolean(process.env.MEM_PROBE_STDOUT),
});
const { worker } = system;
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
await system.stop();

const mb = (b: number) => (b / 1e6).toFixed(1);
for (const k of ['rss', 'anon', 'file']) {
  const xs = samples.map((s) => s[k]!).sort((a, b) => a - b);
  console.log(`${k.padEnd(5)} min ${mb(xs[0]!)}  median ${mb(xs[Math.floor(xs.length / 2)]!)}  max ${mb(xs[xs.length - 1]!)} MB`);
}
