// Issue 13: the theft window. Two installations on loopback (house A records the simulated camera
// in 20 s segments, replicating to office B over http and to a bucket on s3rver); per run, in the
// second segment 9-14 s in, every process of A (worker, its ffmpeg, scheduler) gets SIGKILL at the
// same instant. Reported per run:
//   disk  = seconds of the segment on A's disk after the kill (what the thief carries off),
//   http  = disk - seconds of B's live copy (ffprobe), s3 = disk - seconds of the joined chunks,
//   wall  = kill time - (first sight of the segment file, polled every 50 ms) - B's seconds: also
//           counts what ffmpeg still held in memory (≤ one 0.5 s fragment) and RTSP latency.
// Not a test; needs dist/ (node scripts/build.mjs).
//
//   npx tsx bench/theft-window.ts [--runs=5]
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { listSegmentFiles } from '@tapo/storage';
import { ffprobe } from '../test/helpers/ffprobe.js';
import { ffmpegsByCamera } from '../test/helpers/procs.js';
import { S3RVER_KEYS, startS3rver } from '../test/helpers/s3rver.js';
import { TestStack } from '../test/helpers/stack.js';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const RUNS = Number(arg('runs', '5'));
const TOKEN = 'house-a-live-token-0123456789';
const BUCKET = 'offsite';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => Promise<boolean> | boolean, ms: number, every = 100): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await sleep(every);
  }
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const med = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return `median ${med.toFixed(2)} s, max ${s.at(-1)!.toFixed(2)} s`;
};

const b = new TestStack('theft-office');
const rows: { disk: number; http: number; s3: number; wall: number; chunks: number }[] = [];
const s3 = await startS3rver(b.dir, BUCKET);
try {
  b.writeConfig([], `receive:\n  tokens:\n    - { id: house-a, token: ${TOKEN}, cameraPrefix: "house-" }`);
  await b.start('board');
  await until('office board', async () => (await fetch(`http://127.0.0.1:${b.boardPort}/api/health`).catch(() => undefined))?.ok === true, 30_000);
  for (let run = 1; run <= RUNS; run++) {
    const a = new TestStack(`theft-house-${run}`);
    const firstSeen = new Map<string, number>();
    const watcher = setInterval(() => {
      void listSegmentFiles(a.recordingsDir, 'cam1').then((segs) => {
        for (const s of segs) if (!firstSeen.has(s.path)) firstSeen.set(s.path, Date.now());
      }).catch(() => {});
    }, 50);
    try {
      await a.startCamera();
      a.writeConfig(
        [{ id: 'cam1', segmentSeconds: 20 }],
        `replicas:
  - { id: office, type: http, url: "http://127.0.0.1:${b.boardPort}", token: ${TOKEN} }
  - { id: bucket, type: s3, endpoint: "${s3.endpoint}", bucket: ${BUCKET}, prefix: "run${run}/", accessKeyId: "\${S3_KEY_ID}", secretAccessKey: "\${S3_SECRET}" }`,
      );
      await a.start('scheduler', S3RVER_KEYS);
      await a.start('worker', S3RVER_KEYS);
      const killAfter = 9 + Math.random() * 5;
      let current = '';
      await until('the second segment', async () => {
        const segs = await listSegmentFiles(a.recordingsDir, 'cam1');
        if (segs.length < 2) return false;
        current = segs.at(-1)!.path;
        return firstSeen.has(current) && Date.now() - firstSeen.get(current)! >= killAfter * 1000;
      }, 120_000, 50);
      const pids = [...a.apps.map((x) => x.pid), ...(ffmpegsByCamera(a.recordingsDir).get('cam1') ?? []).map((p) => p.pid)];
      const killedAt = Date.now();
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      a.apps = [];
      await sleep(300);
      const name = path.basename(current);
      const day = path.basename(path.dirname(current));
      const disk = (await ffprobe(current)).durationSeconds;
      const bLive = path.join(b.recordingsDir, 'house-cam1', day, `.${name.replace(/^cam1-/, 'house-cam1-')}.live`);
      const onB = existsSync(bLive) ? (await ffprobe(bLive)).durationSeconds : 0;
      const prefix = `run${run}/cam1/${day}/${name}.live/`;
      const live = await s3.joinedLive(prefix);
      const joined = path.join(a.dir, 'joined.mp4');
      writeFileSync(joined, live.bytes);
      const inBucket = live.chunks ? (await ffprobe(joined)).durationSeconds : 0;
      const row = { disk, http: disk - onB, s3: disk - inBucket, wall: (killedAt - firstSeen.get(current)!) / 1000 - onB, chunks: live.chunks };
      rows.push(row);
      console.log(`run ${run}: killed ${((killedAt - firstSeen.get(current)!) / 1000).toFixed(1)} s into the segment; disk ${disk.toFixed(2)} s; missing on B (http) ${row.http.toFixed(2)} s, in the bucket (s3) ${row.s3.toFixed(2)} s (${row.chunks} chunks); wall-clock window ${row.wall.toFixed(2)} s`);
    } finally {
      clearInterval(watcher);
      for (const x of a.apps) process.kill(x.pid, 'SIGKILL');
      a.apps = [];
      await a.cleanup();
    }
  }
  console.log(`\ntheft window over ${rows.length} runs:`);
  console.log(`  http (B's live copy vs A's disk): ${stats(rows.map((r) => r.http))}`);
  console.log(`  s3 (joined chunks vs A's disk):  ${stats(rows.map((r) => r.s3))}`);
  console.log(`  http, wall clock (incl. ffmpeg's unwritten fragment): ${stats(rows.map((r) => r.wall))}`);
} finally {
  await b.stopApps().catch(() => {});
  await b.cleanup();
  await s3.close();
}
process.exit(0);
