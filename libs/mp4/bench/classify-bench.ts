// Speed check for classifyMp4 on real segments (not a test): classifies each file many times (warm
// page cache) and prints the median and p90 per call. Without files it records two 60 s segments
// with ffmpeg (720p H.264 2 Mb/s + AAC): fragmented as the recorder writes them, and faststart.
// Run: npx tsx libs/mp4/bench/classify-bench.ts [--runs 200] [--lib path/to/src ...] [file...]
// (--lib, repeatable: the libraries to time, e.g. an older copy of libs/mp4/src and this one, for
// before/after numbers; their runs are interleaved)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const runs = Number(opt('--runs') ?? 200);
const libs: string[] = [];
for (let l = opt('--lib'); l !== undefined; l = opt('--lib')) libs.push(path.resolve(l));
if (libs.length === 0) libs.push(path.join(import.meta.dirname, '../src'));

async function main(): Promise<void> {
  type Classify = (typeof import('../src/index.js'))['classifyMp4'];
  const impls: Classify[] = [];
  for (const lib of libs) impls.push(((await import(pathToFileURL(path.join(lib, 'index.ts')).href)) as typeof import('../src/index.js')).classifyMp4);
  let dir: string | undefined;
  let files = args;
  if (files.length === 0) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mp4-classify-bench-'));
    const common = [
      '-hide_banner', '-nostdin', '-v', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000',
      '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '2M', '-maxrate', '2M', '-bufsize', '2M', '-g', '50', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '32k', '-t', '60',
    ];
    files = [path.join(dir, 'fragmented.mp4'), path.join(dir, 'faststart.mp4')];
    execFileSync('ffmpeg', [...common, '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '500000', files[0]!]);
    execFileSync('ffmpeg', [...common, '-movflags', '+faststart', files[1]!]);
  }
  try {
    for (const f of files) {
      for (const classify of impls) for (let i = 0; i < 20; i++) await classify(f); // warm-up (JIT, page cache)
      // Interleaved: run r of every library, then run r+1, so drift in machine load hits all alike.
      // Wall time, and CPU time of the process (all threads: the reads in libuv's pool too), per call.
      const wall = impls.map(() => [] as number[]);
      const cpu = impls.map(() => [] as number[]);
      const kinds = impls.map(() => '');
      for (let r = 0; r < runs; r++) {
        for (let k = 0; k < impls.length; k++) {
          const c = process.cpuUsage();
          const t = process.hrtime.bigint();
          kinds[k] = (await impls[k]!(f)).kind;
          wall[k]!.push(Number(process.hrtime.bigint() - t) / 1e6);
          const d = process.cpuUsage(c);
          cpu[k]!.push((d.user + d.system) / 1000);
        }
      }
      const q = (ts: number[], p: number) => [...ts].sort((a, b) => a - b)[Math.min(ts.length - 1, Math.floor(p * ts.length))]!.toFixed(3);
      impls.forEach((_, k) => {
        const lib = libs.length > 1 ? ` [${path.relative(process.cwd(), libs[k]!) || '.'}]` : '';
        console.log(
          `[measure] classify ${path.basename(f)} (${(statSync(f).size / 1e6).toFixed(1)} MB, ${kinds[k]})${lib}: wall median ${q(wall[k]!, 0.5)} ms (p10 ${q(wall[k]!, 0.1)}, p90 ${q(wall[k]!, 0.9)}), cpu median ${q(cpu[k]!, 0.5)} ms over ${runs} runs`,
        );
      });
    }
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
