// Child process for measuring the parser on hostile inputs (not used by the library): runs every entry
// point on every case of hostile.ts and prints one JSON line per run with its time and its peak memory
// over a baseline taken in this process just before the run (VmHWM reset through /proc/self/clear_refs,
// so each run has its own high-water mark).
// Run: node --expose-gc --import tsx libs/mp4/src/testing/hostile-child.ts [--lib dir-of-an-mp4-src] [case...]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CORPUS_DIR, hostileCases } from './hostile.js';

export const ENTRY_POINTS = ['classify', 'trim', 'faststart', 'rebuild', 'reference'] as const;
export type EntryPoint = (typeof ENTRY_POINTS)[number];

export interface HostileRun {
  name: string;
  entry: EntryPoint;
  bytes: number;
  ms: number;
  /** Peak RSS above the baseline, MB. */
  mb: number;
  /** 'ok' (returned), 'error' (threw an Error), 'crash' (threw something unexpected: RangeError, TypeError, ...). */
  outcome: 'ok' | 'error' | 'crash';
  detail: string;
}

type Lib = typeof import('../index.js');

function status(): { rss: number; hwm: number } {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
  return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
}

export async function runEntry(lib: Lib, entry: EntryPoint, file: string, out: string, reference: string): Promise<string> {
  switch (entry) {
    case 'classify': {
      const c = await lib.classifyMp4(file);
      return `${c.kind}: ${c.reason}`;
    }
    case 'trim':
      return (await lib.trimPartialFragment(file, out)).action;
    case 'faststart':
      return (await lib.faststart(file, out)).action;
    case 'rebuild':
      return (await lib.rebuildMoov(file, out, { reference })).action;
    case 'reference': {
      const r = await lib.readReferenceLayout(file);
      return `video ${r.video.codec} ${r.video.width}x${r.video.height}`;
    }
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const li = args.indexOf('--lib');
  const libDir = li >= 0 ? path.resolve(args.splice(li, 2)[1]!) : path.join(import.meta.dirname, '..');
  const lib = (await import(pathToFileURL(path.join(libDir, 'index.ts')).href)) as Lib;
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mp4-hostile-'));
  const reference = path.join(CORPUS_DIR, 'faststart-av.mp4');
  try {
    // Warm-up on real files: load and JIT the code paths so the baseline holds them.
    for (const entry of ENTRY_POINTS) {
      const src = entry === 'trim' ? 'frag-av.mp4' : entry === 'faststart' ? 'plain-av.mp4' : entry === 'rebuild' ? 'nomoov-av.mp4' : 'frag-av.mp4';
      for (let i = 0; i < 3; i++) await runEntry(lib, entry, path.join(CORPUS_DIR, src), path.join(dir, 'warm.mp4'), reference);
    }
    const cases = hostileCases().filter((c) => args.length === 0 || args.includes(c.name));
    for (const c of cases) {
      const file = path.join(dir, `${c.name}.mp4`);
      writeFileSync(file, c.bytes);
      for (const entry of ENTRY_POINTS) {
        gc();
        gc();
        writeFileSync('/proc/self/clear_refs', '5');
        const base = status().rss;
        const t0 = performance.now();
        let outcome: HostileRun['outcome'] = 'ok';
        let detail: string;
        try {
          detail = await runEntry(lib, entry, file, path.join(dir, `${c.name}.${entry}.out.mp4`), reference);
        } catch (e) {
          const err = e as Error;
          const plain = err instanceof Error && (err.constructor === Error || err.name === 'Mp4FormatError') && !(err as { internal?: boolean }).internal;
          outcome = plain ? 'error' : 'crash';
          detail = `${err?.name ?? typeof e}${(err as { code?: string }).code ? ` [${(err as { code?: string }).code}]` : ''}: ${String(err?.message ?? e).split('\n')[0]}`;
        }
        const ms = performance.now() - t0;
        const mb = Math.max(0, status().hwm - base) / 1e6;
        const run: HostileRun = { name: c.name, entry, bytes: c.bytes.length, ms, mb, outcome, detail };
        process.stdout.write(`${JSON.stringify(run)}\n`);
        rmSync(path.join(dir, `${c.name}.${entry}.out.mp4`), { force: true });
      }
      rmSync(file, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
