// `npm run bench` (full) or `npm run bench -- --quick`: cost per camera against
// bare ffmpeg, Redis load and memory, and (full, or --faults) the fault timings
// from the fault tests. Prints one table; raw numbers go to bench/results/.
import { execa } from 'execa';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSimCamera } from '@tapo/sim-camera';
import { measureCost, type CostResult } from './cost.js';
import { measureIndexMemory } from './index-memory.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const faults = process.argv.includes('--faults') || (!quick && !process.argv.includes('--no-faults'));
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const counts = arg('cameras')?.split(',').map(Number) ?? (quick ? [1, 8] : [1, 8, 32]);
const windowSeconds = Number(arg('window') ?? (quick ? 20 : 60));

const results: { machine: Record<string, unknown>; cost: CostResult[]; index?: unknown; faults?: string[]; date: string } = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGb: Math.round(os.totalmem() / 1e9), node: process.version },
  cost: [],
};

await execa('node', ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
const camera = await startSimCamera({ user: 'bench', password: 'bench-pass' });
try {
  for (const n of counts) {
    process.stderr.write(`cost: ${n} camera(s), ${windowSeconds} s each way...\n`);
    results.cost.push(await measureCost(n, camera, windowSeconds, redisUrl));
  }
} finally {
  await camera.stop();
}
results.index = await measureIndexMemory(redisUrl);

if (faults) {
  process.stderr.write('fault timings: running the fault tests...\n');
  const r = await execa('npx', ['vitest', 'run', 'test/faults-camera.test.ts', 'test/faults-workers.test.ts', 'test/faults-redis.test.ts', 'test/kill-ffmpeg.test.ts'], { cwd: ROOT, reject: false, all: true, env: { FORCE_COLOR: '0' } });
  results.faults = (r.all ?? '').split('\n').filter((l) => l.includes('[measure]')).map((l) => l.replace(/^.*\[measure\]\s*/, ''));
}

const f = (x: number, d = 2) => x.toFixed(d);
const lines = [
  `| cameras | bare ffmpeg CPU s / camera-min | whole system CPU s / camera-min | ratio (target ≤ 1.10 at 32) | worker RSS peak MB (target ≤ 80 + 2/camera) | scheduler RSS MB | Redis cmds/s/camera | sim camera CPU % |`,
  `|---|---|---|---|---|---|---|---|`,
  ...results.cost.map((c) => `| ${c.cameras} | ${f(c.bareCpuPerCameraMinute, 3)} | ${f(c.systemCpuPerCameraMinute, 3)} | ${f(c.ratio)} | ${f(c.workerRssPeakMb, 0)} (limit ${80 + 2 * c.cameras}) | ${f(c.schedulerRssPeakMb, 0)} | ${f(c.redisCommandsPerSecondPerCamera)} | ${f(c.simCameraCpuPercent, 1)} |`),
];
console.log(lines.join('\n'));
console.log(`\nRedis index: ${JSON.stringify(results.index)}`);
if (results.faults) console.log(`\nFault timings:\n${results.faults.map((l) => `- ${l}`).join('\n')}`);
const outDir = path.join(ROOT, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const out = path.join(outDir, `${results.date.slice(0, 19).replace(/:/g, '')}${quick ? '-quick' : ''}.json`);
writeFileSync(out, JSON.stringify(results, null, 2));
console.log(`\nraw numbers: ${path.relative(ROOT, out)}`);
