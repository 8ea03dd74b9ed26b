// Speed check for rebuildMoov (not a test): builds a ~1 GB plain MP4 without moov from 60 s of
// high-bitrate H.264 + AAC (its mdat payload repeated), cuts it mid-sample, rebuilds it and prints
// MB/s and peak RSS. Run: npx tsx libs/mp4/bench/rebuild-bench.ts [targetMiB=1000]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { faststart, rebuildMoov } from '../src/index.js';
import { scanTopLevel } from '../src/box-reader.js';
import { boxHeader } from '../src/box-writer.js';
import { copyRange } from '../src/file-io.js';

const targetBytes = Number(process.argv[2] ?? 1000) * 1024 * 1024;
const dir = mkdtempSync(path.join(os.tmpdir(), 'mp4-bench-'));
const f = (n: string) => path.join(dir, n);
const mb = (n: number) => (n / 1e6).toFixed(1);

async function main(): Promise<void> {
  let t = Date.now();
  execFileSync('ffmpeg', [
    '-hide_banner', '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000',
    '-vf', 'noise=alls=30:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '40M', '-maxrate', '40M', '-bufsize', '20M', '-g', '50',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '32k', '-t', '60', f('source.mp4'),
  ]);
  console.log(`source: 60 s 1280x720 ultrafast 40 Mb/s, ${mb(statSync(f('source.mp4')).size)} MB in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  await faststart(f('source.mp4'), f('reference.mp4'));

  // ftyp + mdat(size 0) + the source's mdat payload repeated up to the target size, then cut mid-sample.
  t = Date.now();
  const src = await open(f('source.mp4'));
  const scan = await scanTopLevel(src, (await src.stat()).size);
  const i = scan.boxes.findIndex((b) => b.type === 'mdat');
  const mdat = scan.boxes[i]!;
  const payloadStart = mdat.offset + scan.headerSizes[i]!;
  const payload = mdat.offset + mdat.size - payloadStart;
  const big = await open(f('big.mp4'), 'w');
  const ftyp = scan.boxes[0]!;
  let pos = 0;
  await copyRange(src, 0, ftyp.size, big, 0);
  pos += ftyp.size;
  const head = boxHeader('mdat', 0);
  head.writeUInt32BE(0, 0); // size 0: "to the end of the file", as a killed writer leaves it
  await big.write(head, 0, head.length, pos);
  pos += head.length;
  while (pos < targetBytes) {
    await copyRange(src, payloadStart, payload, big, pos);
    pos += payload;
  }
  await big.close();
  await src.close();
  const cut = targetBytes - 12345;
  truncateSync(f('big.mp4'), cut);
  console.log(`input: ${mb(cut)} MB no-moov file (${Math.ceil(targetBytes / payload)} copies of a ${mb(payload)} MB mdat), built in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  // Rebuild, sampling RSS.
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 20);
  let walkDone = 0;
  let progressCalls = 0;
  t = Date.now();
  const result = await rebuildMoov(f('big.mp4'), f('rebuilt.mp4'), {
    reference: f('reference.mp4'),
    onProgress: (done, total) => {
      sample();
      progressCalls++;
      if (done === total) walkDone = Date.now();
    },
  });
  const secs = (Date.now() - t) / 1000;
  clearInterval(timer);
  sample();
  console.log(`rebuildMoov: ${result.videoSamples} video, ${result.audioSamples} audio samples, ${result.keyframes} keyframes; output ${mb(result.outputBytes)} MB`);
  for (const n of result.notes) console.log(`  note: ${n}`);
  const walkSecs = (walkDone - t) / 1000;
  console.log(`time: ${secs.toFixed(2)} s = walk ${walkSecs.toFixed(2)} s (${(cut / 1e6 / walkSecs).toFixed(0)} MB/s, ${progressCalls} progress calls) + write ${(secs - walkSecs).toFixed(2)} s → ${(cut / 1e6 / secs).toFixed(0)} MB/s overall`);
  console.log(`RSS: before ${mb(rss0)} MB, peak ${mb(peak)} MB (+${mb(peak - rss0)} MB)`);

  const probe = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', f('rebuilt.mp4')]).toString().trim();
  console.log(`ffprobe: ${probe} video packets in the rebuilt file`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
