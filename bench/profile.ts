// CPU profile of the worker (and scheduler) recording N cameras:
//   npx tsx bench/profile.ts [cameras=32] [seconds=60]
// writes .cpuprofile files to bench/results/tmp/ (open them in Chrome DevTools)
// and prints the top functions by self time.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { APP_NODE_FLAGS, startBenchSystem } from './bench-system.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const n = Number(process.argv[2] ?? 32);
const seconds = Number(process.argv[3] ?? 60);
const out = path.join(ROOT, 'bench', 'results', 'tmp');
mkdirSync(out, { recursive: true });
for (const f of readdirSync(out)) if (f.endsWith('.cpuprofile')) rmSync(path.join(out, f));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const system = await startBenchSystem({
  cameras: n,
  tag: 'prof',
  config: ['segmentSeconds: 10'],
  nodeFlags: (app) => [...APP_NODE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${out}`, `--cpu-prof-name=${app}.cpuprofile`],
});
await sleep(15_000 + seconds * 1000);
await system.stop();

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
for (const f of readdirSync(out).filter((x) => x.endsWith('.cpuprofile'))) {
  const p = JSON.parse(readFileSync(path.join(out, f), 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number };
  const self = new Map<string, number>();
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const inclusive = new Map<string, number>();
  // Steady state only: skip the first 15 s (module loading, ffmpeg starts).
  let t = 0;
  p.samples.forEach((id, i) => {
    t += p.timeDeltas[i] ?? 0;
    if (t < 15e6) return;
    const node = byId.get(id)!;
    const k = `${node.callFrame.functionName || '(anon)'} ${node.callFrame.url.replace(/^.*node_modules\//, '').replace(`file://${ROOT}/`, '')}:${node.callFrame.lineNumber + 1}`;
    self.set(k, (self.get(k) ?? 0) + (p.timeDeltas[i] ?? 0));
    // Inclusive time of our own functions (the bundle), once per stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      if (!cf.url.includes('/dist/')) continue;
      const name = `${cf.functionName || '(anon)'} ${path.basename(cf.url)}:${cf.lineNumber + 1}`;
      if (seen.has(name)) continue;
      seen.add(name);
      if (!node.callFrame.functionName.startsWith('(idle')) inclusive.set(name, (inclusive.get(name) ?? 0) + (p.timeDeltas[i] ?? 0));
    }
  });
  const total = [...self.entries()].filter(([k]) => !k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
  console.log(`\n${f}: ${(total / 1e6).toFixed(2)} s busy in ${seconds} s of steady state (${((total / 1e6 / seconds) * 100).toFixed(1)} % of a core)`);
  for (const [k, v] of [...self.entries()].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`);
  }
  console.log('  our functions, inclusive:');
  for (const [k, v] of [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    console.log(`${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`);
  }
}
