// Long fuzz run over the MP4 parser (not a test): mutated corpus files through every entry point
// (src/testing/fuzz.ts), throughput every 1000 inputs, and every failing input saved as
// libs/mp4/fuzz/crashers/<sha>.mp4 (+ .txt: how it was made, what failed) for the unit test to replay.
// Run: npx tsx libs/mp4/bench/fuzz.ts --iterations 100000 --seed 1 [--start 0] [--max-ms 2000] [--no-save]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CORPUS_DIR } from '../src/testing/hostile.js';
import { loadSeeds, runFuzz, saveCrasher, vmHwmMb } from '../src/testing/fuzz.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const iterations = opt('--iterations', 10_000);
const seed = opt('--seed', 1);
const start = opt('--start', 0);
const maxMs = opt('--max-ms', 2000);
const save = !args.includes('--no-save');

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mp4-fuzz-'));
  const seeds = loadSeeds();
  console.log(`fuzz: seed ${seed}, inputs ${start}..${start + iterations - 1}, ${seeds.length} seed files (${seeds.map((s) => s.name).join(', ')}), limit ${maxMs} ms per entry point`);
  let reported = 0;
  try {
    const stats = await runFuzz({
      seeds,
      seed,
      iterations,
      start,
      ctx: { dir, reference: path.join(CORPUS_DIR, 'faststart-av.mp4'), noMoov: path.join(CORPUS_DIR, 'nomoov-av.mp4'), maxMs },
      onProgress: (done, s) => {
        for (const f of s.failures.slice(reported)) report(f);
        reported = s.failures.length;
        console.log(`[measure] fuzz ${done} inputs in ${(s.ms / 1000).toFixed(1)} s: ${((done * 1000) / s.ms).toFixed(0)} inputs/s, ${s.failures.length} failing, slowest ${s.slowest.ms.toFixed(0)} ms (${s.slowest.entry}, input ${s.slowest.index}), peak RSS ${vmHwmMb().toFixed(0)} MB`);
      },
    });
    for (const f of stats.failures.slice(reported)) report(f);
    console.log(`[measure] fuzz done: ${stats.inputs} inputs in ${(stats.ms / 1000).toFixed(1)} s (${((stats.inputs * 1000) / stats.ms).toFixed(0)} inputs/s), ${stats.failures.length} failing, slowest ${stats.slowest.ms.toFixed(0)} ms (${stats.slowest.entry}, input ${stats.slowest.index}), peak RSS ${stats.peakRssMb.toFixed(0)} MB`);
    console.log(`classify: ${[...stats.kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const [e, x] of stats.entries) console.log(`  ${e.padEnd(30)} ${String(x.calls).padStart(8)} calls, ${((100 * x.errors) / x.calls).toFixed(1).padStart(5)}% threw a clear error, ${(x.ms / x.calls).toFixed(2)} ms each`);
    if (stats.failures.length) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  function report(f: Parameters<typeof saveCrasher>[0]): void {
    const where = save ? ` → ${path.relative(process.cwd(), saveCrasher(f, seed))}` : '';
    console.log(`FAIL input ${f.index} (${f.seed} + ${f.ops.join('; ')})${where}`);
    for (const x of f.failures) console.log(`  ${x.entry}: ${x.problem}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
