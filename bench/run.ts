// `npm run bench` (full) or `npm run bench -- --quick` (about 3 minutes).
// Each measure as median and max of several runs, with a baseline and ratio
// where one exists, in one printed table; raw numbers go to bench/results/.
//
//   --quick                  cost at 1 and 8 cameras (20 s windows), index memory,
//                            kill -9 loss, prune, computed stall baseline; 1 run each
//   --runs=N                 runs of every repeated step (cost, index memory,
//                            kill -9 loss, prune, repair); default 3, quick 1
//   --cameras=1,8,32         camera counts of the cost step (quick: 1,8)
//   --window=S               seconds per cost window, each way (default 60, quick 20)
//   --faults / --no-faults   run the fault tests or not (default: full yes, quick no)
//   --fault-runs=N           times the fault tests run (default 1: they take minutes)
//   --boundaries-minutes=M   length of the segment-boundaries recording (default 10)
//   --repair-mib=N           size of the repair-throughput input (default 1000)
//   --only=a,b / --skip=a,b  steps: cost, index, stall, kill-loss, prune, repair, boundaries, faults
//   --no-build               do not rebuild dist/ first
import { execa } from 'execa';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSimCamera, type SimCamera } from '@tapo/sim-camera';
import { measureBoundaries, type BoundariesResult } from './boundaries.js';
import { killAllTracked } from './children.js';
import { measureCostRuns, type CostRunsResult } from './cost-runs.js';
import { faultRows, runFaults, type FaultsResult } from './faults.js';
import { indexMemoryRows, measureIndexMemory, type IndexMemory } from './index-memory.js';
import { measureKillLoss, type KillLossResult } from './kill-loss.js';
import { measurePrune, type PruneResult } from './prune.js';
import { measureRepairThroughput, type RepairThroughputResult } from './repair-throughput.js';
import { stallBaseline, type StallBaseline } from './stall-baseline.js';
import { renderTable, row, type Row } from './table.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const STEPS = ['cost', 'index', 'stall', 'kill-loss', 'prune', 'repair', 'boundaries', 'faults'] as const;
type Step = (typeof STEPS)[number];
const QUICK_STEPS: Step[] = ['cost', 'index', 'stall', 'kill-loss', 'prune'];

const argv = process.argv.slice(2);
const known = /^--(quick|faults|no-faults|no-build|runs=|cameras=|window=|fault-runs=|boundaries-minutes=|repair-mib=|only=|skip=)/;
for (const a of argv) if (!known.test(a)) throw new Error(`bench: unknown option ${a} (see the top of bench/run.ts)`);
const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const positive = (name: string, fallback: number) => {
  const v = Number(arg(name) ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`bench: --${name} must be a positive number`);
  return v;
};
const stepList = (name: string): Step[] | undefined => {
  const v = arg(name);
  if (v === undefined) return undefined;
  const list = v.split(',').filter(Boolean);
  for (const s of list) if (!(STEPS as readonly string[]).includes(s)) throw new Error(`bench: unknown step ${s} in --${name} (steps: ${STEPS.join(', ')})`);
  return list as Step[];
};

const quick = argv.includes('--quick');
const steps = new Set<Step>(stepList('only') ?? (quick ? QUICK_STEPS : STEPS));
if (!arg('only')) {
  if (argv.includes('--faults')) steps.add('faults');
  if (argv.includes('--no-faults')) steps.delete('faults');
}
for (const s of stepList('skip') ?? []) steps.delete(s);
const options = {
  quick,
  steps: STEPS.filter((s) => steps.has(s)),
  runs: Math.round(positive('runs', quick ? 1 : 3)),
  cameras: (arg('cameras')?.split(',').map(Number) ?? (quick ? [1, 8] : [1, 8, 32])).filter((n) => Number.isInteger(n) && n > 0),
  windowSeconds: positive('window', quick ? 20 : 60),
  faultRuns: Math.round(positive('fault-runs', 1)),
  boundariesMinutes: positive('boundaries-minutes', 10),
  repairMiB: Math.round(positive('repair-mib', 1000)),
  build: !argv.includes('--no-build'),
};
if (options.cameras.length === 0) throw new Error('bench: --cameras needs camera counts, e.g. --cameras=1,8,32');
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Results {
  date: string;
  options: typeof options;
  machine: Record<string, unknown>;
  seconds: Partial<Record<Step | 'total', number>>;
  cost?: CostRunsResult;
  index?: { runs: IndexMemory[]; rows: Row[] };
  stall?: StallBaseline;
  killLoss?: KillLossResult;
  prune?: PruneResult;
  repair?: RepairThroughputResult;
  boundaries?: BoundariesResult;
  faults?: FaultsResult;
  errors: Partial<Record<Step | 'setup', string>>;
  rows: Row[];
}

const started = Date.now();
const results: Results = {
  date: new Date().toISOString(),
  options,
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGb: Math.round(os.totalmem() / 1e9), node: process.version, loadavgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))) },
  seconds: {},
  errors: {},
  rows: [],
};

async function step<T>(name: Step, fn: () => Promise<T>): Promise<T | undefined> {
  if (!steps.has(name)) return undefined;
  const t0 = Date.now();
  try {
    return await fn();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    results.errors[name] = msg;
    process.stderr.write(`bench: step ${name} failed: ${msg}\n`);
    return undefined;
  } finally {
    results.seconds[name] = Math.round((Date.now() - t0) / 100) / 10;
  }
}

process.stderr.write(`bench: ${quick ? 'quick' : 'full'} run, steps ${options.steps.join(', ')}; runs ${options.runs}\n`);
let camera: SimCamera | undefined;
try {
  if (options.build && (steps.has('cost') || steps.has('boundaries'))) await execa('node', ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  if (steps.has('cost') || steps.has('kill-loss') || steps.has('boundaries')) camera = await startSimCamera({ user: 'bench', password: 'bench-pass' });
  const cam = camera!;
  results.cost = await step('cost', () => measureCostRuns(options.cameras, options.runs, cam, options.windowSeconds, redisUrl));
  results.killLoss = await step('kill-loss', () => measureKillLoss(cam, options.runs));
  results.boundaries = await step('boundaries', () => {
    process.stderr.write(`boundaries: ${options.boundariesMinutes} min of 60 s segments, scheduler + worker, 1 camera...\n`);
    return measureBoundaries(cam, options.boundariesMinutes, redisUrl);
  });
} catch (e) {
  results.errors.setup = e instanceof Error ? e.message : String(e);
  process.stderr.write(`bench: ${results.errors.setup}\n`);
} finally {
  await camera?.stop();
}
results.index = await step('index', async () => {
  const runs: IndexMemory[] = [];
  for (let i = 0; i < options.runs; i++) runs.push(await measureIndexMemory(redisUrl, 20_000, i));
  return { runs, rows: indexMemoryRows(runs) };
});
results.prune = await step('prune', () => measurePrune(redisUrl, options.runs));
results.stall = await step('stall', async () => stallBaseline());
results.repair = await step('repair', () => measureRepairThroughput(options.runs, options.repairMiB));
results.faults = await step('faults', () => runFaults(options.faultRuns));
killAllTracked(); // nothing should be left; by pid, in case

// One table: cost, Redis memory, faults (with the stall baseline), kill -9 loss, boundaries, repair, prune.
const failedRow = (s: Step) => row(`${s}: step failed`, [], { how: results.errors[s] ?? '' });
const rows: Row[] = [];
const add = (s: Step, r: Row[] | undefined) => {
  if (results.errors[s]) rows.push(failedRow(s));
  else if (r) rows.push(...r);
};
if (results.errors.setup) rows.push(row('setup (build, sim camera): failed', [], { how: results.errors.setup }));
add('cost', results.cost?.rows);
add('index', results.index?.rows);
if (steps.has('stall') || steps.has('faults')) {
  const fr = faultRows(results.faults, results.stall ?? stallBaseline());
  if (results.faults) results.faults.rows = fr;
  add('faults', results.faults ? fr : fr.slice(0, 1)); // quick: the freeze row alone, with its computed baseline
}
add('kill-loss', results.killLoss?.rows);
add('boundaries', results.boundaries?.rows);
add('repair', results.repair?.rows);
add('prune', results.prune?.rows);
results.rows = rows;
results.seconds.total = Math.round((Date.now() - started) / 1000);
results.machine.loadavgAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));

const skipped = STEPS.filter((s) => !steps.has(s));
console.log(`\n${quick ? 'Quick' : 'Full'} bench, ${new Date(started).toISOString().slice(0, 16)}Z, ${results.seconds.total} s; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}; load average ${(results.machine.loadavgAtStart as number[])[0]} at start, ${(results.machine.loadavgAtEnd as number[])[0]} at end\n`);
console.log(renderTable(rows));
if (skipped.length) console.log(`\nnot run: ${skipped.join(', ')}${quick ? ' (full mode)' : ''}`);
if (results.faults?.runs.some((r) => r.exitCode !== 0)) console.log('\nfault tests FAILED in some run: see faults.runs[].failureTail in the JSON');
const outDir = path.join(ROOT, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const out = path.join(outDir, `${results.date.slice(0, 19).replace(/:/g, '')}${quick ? '-quick' : ''}.json`);
writeFileSync(out, JSON.stringify(results, null, 2));
console.log(`\nraw numbers: ${path.relative(ROOT, out)}; step times (s): ${Object.entries(results.seconds).map(([k, v]) => `${k} ${v}`).join(', ')}`);
if (Object.keys(results.errors).length) process.exitCode = 1;
