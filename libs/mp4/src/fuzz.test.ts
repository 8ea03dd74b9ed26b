// Short fuzz run over the parser (fixed seed) and a replay of every input a long run found failing
// (libs/mp4/fuzz/crashers). The long run: npx tsx libs/mp4/bench/fuzz.ts --iterations 100000 --seed N
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CRASHERS_DIR, loadSeeds, runFuzz, runInput, vmHwmMb, type FuzzContext } from './testing/fuzz.js';
import { CORPUS_DIR } from './testing/hostile.js';

const INPUTS = 1000;
const SEED = 20251202;

describe('mp4 parser fuzz', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mp4-fuzz-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ctx: FuzzContext = { dir, reference: path.join(CORPUS_DIR, 'faststart-av.mp4'), noMoov: path.join(CORPUS_DIR, 'nomoov-av.mp4'), maxMs: 1000 };

  it('the seed corpus is small real files of every layout', () => {
    const seeds = loadSeeds();
    expect(seeds.map((s) => s.name)).toEqual(['faststart-av.mp4', 'faststart-v-baseline.mp4', 'frag-abs.mp4', 'frag-alaw.mov', 'frag-av.mp4', 'frag-v.mp4', 'nomoov-av.mp4', 'plain-av.mp4']);
    expect(seeds.reduce((n, s) => n + s.bytes.length, 0)).toBeLessThan(300_000);
  });

  it(`${INPUTS} mutated inputs (seed ${SEED}) through every entry point: clear errors only, each < 1 s, memory bounded`, async () => {
    writeFileSync('/proc/self/clear_refs', '5'); // peak RSS from here
    const before = vmHwmMb();
    const stats = await runFuzz({ seeds: loadSeeds(), seed: SEED, iterations: INPUTS, ctx });
    const peak = stats.peakRssMb - before;
    console.log(
      `[measure] fuzz ${stats.inputs} inputs in ${(stats.ms / 1000).toFixed(1)} s (${((stats.inputs * 1000) / stats.ms).toFixed(0)} inputs/s), slowest ${stats.slowest.ms.toFixed(0)} ms (${stats.slowest.entry}), peak RSS +${peak.toFixed(0)} MB; classify: ${[...stats.kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`,
    );
    expect(stats.failures.map((f) => `input ${f.index} (${f.seed} + ${f.ops.join('; ')}): ${f.failures.map((x) => `${x.entry}: ${x.problem}`).join(' | ')}`)).toEqual([]);
    expect(peak).toBeLessThan(200);
  }, 180_000);

  const crashers = existsSync(CRASHERS_DIR) ? readdirSync(CRASHERS_DIR).filter((f) => f.endsWith('.mp4')).sort() : [];
  it.runIf(crashers.length > 0).each(crashers)('crasher %s stays fixed', async (name) => {
    const bytes = readFileSync(path.join(CRASHERS_DIR, name));
    const r = await runInput(bytes, ctx, name.replace(/\.mp4$/, ''));
    expect(r.failures.map((x) => `${x.entry}: ${x.problem}`)).toEqual([]);
  });
});
