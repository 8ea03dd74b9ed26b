// Issue 12 item 7: `recorder repair` end to end (CLI process start → verified output) against untrunc
// on the same files, and `recorder --help`. Not a test.
//
//   npx tsx bench/repair-vs-untrunc.ts [--runs=5] [--sizes=250,1000] [--phases] [--keep=DIR]
//   UNTRUNC_SRC=/path/to/anthwlock-untrunc npx tsx bench/repair-vs-untrunc.ts
//
// Files (built once per size in a temp dir, from 60 s of 720p25 H.264 at 40 Mb/s + AAC, looped with
// -c copy to the size): "cut" = a plain MP4 whose writer lost power (mdat size 0, file cut before the
// moov, mid-sample; repair = rebuild from a 4 s reference of the same encode), "moov-at-end" = the
// whole plain file (repair = faststart), "fragmented-partial" = the same remuxed to fragmented MP4
// and cut mid-fragment (repair = trim). Every repair runs `node apps/cli/bin/recorder.mjs repair IN
// --out OUT` (the dist/cli.mjs bundle, built first) and must exit 0 with OUT in place. Peak RSS is
// GNU time's %M. untrunc is built from UNTRUNC_SRC (anthwlock/untrunc: needs libavformat-dev,
// libavcodec-dev, libavutil-dev; `make`) into the temp dir and never committed; without it the
// issue's figure (0.7-1.0 s for 943 MB) stands in. --phases also times the steps in-process:
// step (kernel copy vs copy through this process), fast proof vs full decode.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const RUNS = Number(arg('runs', '5'));
const SIZES = arg('sizes', '250,1000').split(',').map(Number);
const PHASES = process.argv.includes('--phases');
const keep = arg('keep', '');
const dir = keep || mkdtempSync(path.join(os.tmpdir(), 'repair-vs-untrunc-'));
mkdirSync(dir, { recursive: true });
const f = (n: string) => path.join(dir, n);
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

interface Run {
  seconds: number;
  rssMb?: number;
  ok: boolean;
  out: string;
}

/** Runs a command; wall time from spawn to exit, peak RSS of the process tree's largest (GNU time). */
function timed(cmd: string, args: string[], cwd = dir): Run {
  const t0 = performance.now();
  const r = GNU_TIME ? spawnSync(GNU_TIME, ['-f', '@@rss %M', cmd, ...args], { cwd, encoding: 'utf8' }) : spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  const m = /@@rss (\d+)/.exec(r.stderr ?? '');
  return { seconds, ok: r.status === 0, out: `${r.stdout ?? ''}${(r.stderr ?? '').replace(/@@rss \d+\n?/, '')}`, ...(m ? { rssMb: Number(m[1]) / 1024 } : {}) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
const max = (xs: number[]) => Math.max(...xs);
const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '?');

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** Top-level boxes of a file: [type, offset, size]. */
function boxes(file: string): Array<[string, number, number]> {
  const fd = openSync(file, 'r');
  const size = statSync(file).size;
  const out: Array<[string, number, number]> = [];
  const h = Buffer.alloc(16);
  try {
    for (let pos = 0; pos + 8 <= size; ) {
      const n = readSync(fd, h, 0, 16, pos);
      if (n < 8) break;
      let s = h.readUInt32BE(0);
      if (s === 1) s = Number(h.readBigUInt64BE(8));
      if (s === 0) s = size - pos;
      out.push([h.toString('latin1', 4, 8), pos, s]);
      pos += s;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

function buildInputs(sizeMiB: number): { cut: string; plain: string; frag: string; ref: string; cutBytes: number } {
  const src = f('source.mp4');
  if (!existsSync(src)) {
    const t = performance.now();
    ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000',
      '-vf', 'noise=alls=30:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '40M', '-maxrate', '40M', '-bufsize', '20M', '-g', '50',
      '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '32k', '-t', '60', src,
    ]);
    ffmpeg(['-i', src, '-map', '0', '-c', 'copy', '-t', '4', '-movflags', '+faststart', f('ref.mp4')]);
    console.error(`source: 60 s 720p25 40 Mb/s + AAC, ${(statSync(src).size / 1e6).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const plain = f(`plain-${sizeMiB}.mp4`);
  const frag = f(`frag-${sizeMiB}.mp4`);
  const cut = f(`cut-${sizeMiB}.mp4`);
  if (!existsSync(cut)) {
    const seconds = (60 * sizeMiB * 1024 * 1024) / statSync(src).size;
    ffmpeg(['-stream_loop', '20', '-i', src, '-map', '0', '-c', 'copy', '-t', seconds.toFixed(2), plain]);
    ffmpeg(['-i', plain, '-map', '0', '-c', 'copy', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', frag]);
    truncateSync(frag, Math.floor(statSync(frag).size * 0.985));
    // The camera that lost power: mdat never finalized (size 0), moov never written, cut mid-sample.
    const mdat = boxes(plain).find((b) => b[0] === 'mdat')!;
    cpSync(plain, cut);
    const fd = openSync(cut, 'r+');
    writeSync(fd, Buffer.alloc(4), 0, 4, mdat[1]);
    closeSync(fd);
    truncateSync(cut, Math.floor(mdat[1] + mdat[2] * 0.99) - 12345);
  }
  return { cut, plain, frag, ref: f('ref.mp4'), cutBytes: statSync(cut).size };
}

function buildUntrunc(): string | undefined {
  const srcDir = process.env.UNTRUNC_SRC;
  if (!srcDir) return undefined;
  const build = f('untrunc-build');
  rmSync(build, { recursive: true, force: true });
  cpSync(srcDir, build, { recursive: true });
  const r = spawnSync('make', ['-j2'], { cwd: build, encoding: 'utf8' });
  const bin = path.join(build, 'untrunc');
  if (r.status !== 0 || !existsSync(bin)) {
    console.error(`untrunc: build in ${build} failed (needs libavformat-dev libavcodec-dev libavutil-dev): ${(r.stderr ?? '').split('\n').slice(-5).join(' | ')}`);
    return undefined;
  }
  return bin;
}

interface Row {
  what: string;
  target: string;
  runs: Run[];
  mbPerS?: number[];
  note?: string;
}
const rows: Row[] = [];
function addRow(what: string, target: string, runs: Run[], bytes?: number, note?: string): void {
  rows.push({ what, target, runs, ...(bytes ? { mbPerS: runs.map((r) => bytes / 1e6 / r.seconds) } : {}), ...(note ? { note } : {}) });
  const s = runs.map((r) => r.seconds);
  const rss = runs.flatMap((r) => (r.rssMb === undefined ? [] : [r.rssMb]));
  const failed = runs.filter((r) => !r.ok).length;
  console.log(
    `${what.padEnd(52)} ${fmt(median(s))} s median, ${fmt(max(s))} s max` +
      (bytes ? `, ${fmt(bytes / 1e6 / median(s), 0)} MB/s` : '') +
      (rss.length ? `, RSS ${fmt(median(rss), 0)} MB median, ${fmt(max(rss), 0)} max` : '') +
      (failed ? `, ${failed} FAILED: ${runs.find((r) => !r.ok)!.out.slice(-300)}` : '') +
      (note ? ` (${note})` : ''),
  );
}

async function phases(cut: string, plain: string, frag: string, ref: string): Promise<void> {
  const { runRepairStep, verifyPlays } = await import('../libs/maintenance/src/repair-steps.js');
  const { KERNEL_COPY } = await import('../libs/mp4/src/file-io.js');
  const cases = [
    ['rebuild', cut, { reference: ref }],
    ['faststart', plain, {}],
    ['trim', frag, {}],
  ] as const;
  for (const [step, input, opts] of cases) {
    const out = f(`phase-${step}.mp4`);
    for (const kernel of [false, true]) {
      KERNEL_COPY.enabled = kernel;
      rmSync(out, { force: true });
      const t = performance.now();
      await runRepairStep(step, input, out, opts);
      console.log(`  phase ${step} (${kernel ? 'kernel copy' : 'copy through the process'}): ${fmt((performance.now() - t) / 1000)} s`);
    }
    for (const fullDecode of [false, true]) {
      const t = performance.now();
      const v = await verifyPlays(out, { fullDecode });
      console.log(`  phase verify ${step} (${fullDecode ? 'full decode' : 'fast proof'}): ${fmt((performance.now() - t) / 1000)} s, ${v.ok ? 'ok' : 'REFUSED'}: ${v.detail}`);
    }
    rmSync(out, { force: true });
  }
}

async function main(): Promise<void> {
  console.log(`repair vs untrunc: ${RUNS} runs, sizes ${SIZES.join(', ')} MiB, dir ${dir}; ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), 'cli'], { stdio: 'inherit' });
  const recorder = path.join(ROOT, 'apps', 'cli', 'bin', 'recorder.mjs');
  addRow('recorder --help', '≤ 0.30 s, ≤ 70 MB', Array.from({ length: RUNS }, () => timed(process.execPath, [recorder, '--help'])));
  const untrunc = buildUntrunc();
  if (!untrunc) console.log(`untrunc: unavailable (${process.env.UNTRUNC_SRC ? 'build failed' : 'set UNTRUNC_SRC to its source dir'}); the issue's figure stands in: 0.7-1.0 s for 943 MB`);

  for (const size of SIZES) {
    const { cut, plain, frag, ref, cutBytes } = buildInputs(size);
    const repair = (input: string, extra: string[]) =>
      Array.from({ length: RUNS }, (_, i) => {
        const out = f(`out-${i}.mp4`);
        rmSync(out, { force: true });
        const r = timed(process.execPath, [recorder, 'repair', input, ...extra, '--out', out]);
        if (r.ok && !existsSync(out)) r.ok = false;
        rmSync(out, { force: true });
        return r;
      });
    const label = (what: string, file: string) => `${what}, ${(statSync(file).size / 1e6).toFixed(0)} MB`;
    addRow(label('recorder repair: cut plain MP4 (rebuild)', cut), 'as fast as untrunc', repair(cut, ['--reference', ref]), cutBytes);
    addRow(label('recorder repair: moov at end (faststart)', plain), '—', repair(plain, []), statSync(plain).size);
    addRow(label('recorder repair: fragmented, cut (trim)', frag), '—', repair(frag, []), statSync(frag).size);
    if (untrunc) {
      const runs = Array.from({ length: RUNS }, () => {
        rmSync(`${cut}_fixed.mp4`, { force: true });
        const r = timed(untrunc, [ref, cut]);
        rmSync(`${cut}_fixed.mp4`, { force: true });
        return r;
      });
      addRow(label('untrunc (same cut file, same reference)', cut), '—', runs, cutBytes);
    }
    if (PHASES) await phases(cut, plain, frag, ref);
  }

  const stamp = new Date().toISOString().replace(/[:]/g, '').replace(/\..*/, '');
  const file = path.join(ROOT, 'bench', 'results', `${stamp}-repair-vs-untrunc.json`);
  writeFileSync(file, JSON.stringify({ runs: RUNS, sizes: SIZES, untrunc: Boolean(untrunc), load: os.loadavg(), rows: rows.map((r) => ({ ...r, runs: r.runs.map(({ out, ...x }) => ({ ...x, tail: x.ok ? undefined : out.slice(-500) })) })) }, null, 2));
  console.log(`raw numbers: ${path.relative(ROOT, file)}`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  });
