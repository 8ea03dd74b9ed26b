// CPU probe, run as its own process by measure.test.ts (so the test runner's own activity is not
// counted): ffmpeg's segment muxer with the production flags writes a 2 Mbit/s source at its own
// pace (-re); this process runs one LiveFragmentStream, first with no subscriber, then with one.
// Prints one JSON line; writes init + fragments of every segment the subscriber got from its init
// to <dir>/probe-joined-<n>.mp4 for the test to decode.
//   node --import tsx cpu-probe.ts <source.mp4> <dir> <idleMs> <busyMs>
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LiveEvent } from '../events.js';
import { LiveFragmentStream } from '../live-fragment-stream.js';
import { countingFs } from './files.js';

const [srcFile, dir, idleArg, busyArg] = process.argv.slice(2);
if (!srcFile || !dir) throw new Error('usage: cpu-probe <source.mp4> <dir> [idleMs] [busyMs]');
const idleMs = Number(idleArg ?? 3000);
const busyMs = Number(busyArg ?? 8000);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const counting = countingFs();
const stream = new LiveFragmentStream({ cameraId: 'probe', fs: counting.fs });
// prettier-ignore
const ff = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'level+info', '-re', '-i', srcFile, '-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy',
  '-f', 'segment', '-segment_time', '4', '-segment_format', 'mp4',
  '-segment_format_options', 'movflags=+frag_keyframe+empty_moov+default_base_moof:frag_duration=500000:flush_packets=1',
  '-reset_timestamps', '1', '-segment_list', 'pipe:1', '-segment_list_type', 'csv', path.join(dir, 'probe-%03d.mp4')], { stdio: ['ignore', 'pipe', 'pipe'] });
let opened = 0;
let errBuf = '';
ff.stderr.on('data', (b: Buffer) => {
  errBuf += b.toString();
  let nl: number;
  while ((nl = errBuf.search(/[\r\n]/)) >= 0) {
    const m = /\[segment @[^\]]*\].*Opening '([^']+)' for writing/.exec(errBuf.slice(0, nl));
    errBuf = errBuf.slice(nl + 1);
    if (m && !m[1]!.startsWith('pipe:')) {
      opened++;
      stream.segmentOpened(m[1]!);
    }
  }
});
let outBuf = '';
ff.stdout.on('data', (b: Buffer) => {
  outBuf += b.toString();
  let nl: number;
  while ((nl = outBuf.indexOf('\n')) >= 0) {
    const name = outBuf.slice(0, nl).split(',')[0]!;
    outBuf = outBuf.slice(nl + 1);
    if (name) stream.segmentClosed(path.isAbsolute(name) ? name : path.join(dir, name));
  }
});
const exited = new Promise<number | null>((r) => ff.on('exit', (code) => r(code)));

async function cpuOver(ms: number): Promise<{ pct: number; wallMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const c = process.cpuUsage(c0);
  const wallMs = performance.now() - t0;
  return { pct: ((c.user + c.system) / 1000 / wallMs) * 100, wallMs };
}

for (let i = 0; i < 250 && opened === 0; i++) await sleep(20);
await sleep(500);
const idle = await cpuOver(idleMs);
const idleStats = stream.stats();

const events: LiveEvent[] = [];
stream.subscribe((e) => void events.push(e));
await sleep(300); // the catch-up read of the current segment is not part of the steady state
const bytesAt = () => events.reduce((a, e) => a + (e.type === 'fragment' ? e.bytes.length : 0), 0);
const b0 = bytesAt();
const f0 = events.filter((e) => e.type === 'fragment').length;
const calls0 = { ...counting.calls };
const busy = await cpuOver(busyMs);
const calls = Object.fromEntries(Object.entries(counting.calls).map(([k, v]) => [k, v - calls0[k as keyof typeof calls0]]));
const bytes = bytesAt() - b0;
const fragments = events.filter((e) => e.type === 'fragment').length - f0;
const code = await exited;
for (let i = 0; i < 150 && events.filter((e) => e.type === 'segment-end').length < opened; i++) await sleep(20);
await stream.close();

let joined = 0;
for (let i = 0; i < events.length; i++) {
  const e = events[i]!;
  if (e.type !== 'init') continue;
  const parts = [e.bytes];
  for (let j = i + 1; j < events.length; j++) {
    const f = events[j]!;
    if (f.type !== 'fragment') break;
    parts.push(f.bytes);
  }
  if (parts.length > 1) writeFileSync(path.join(dir, `probe-joined-${joined++}.mp4`), Buffer.concat(parts));
}
const firstInit = events.find((e) => e.type === 'init');
console.log(
  JSON.stringify({
    ffmpegExit: code,
    segments: opened,
    idlePct: idle.pct,
    idleFollowing: idleStats.following,
    idleWatching: idleStats.watching,
    idlePolling: idleStats.polling,
    busyPct: busy.pct,
    busySeconds: busy.wallMs / 1000,
    kbitPerSecond: (bytes * 8) / busy.wallMs,
    fragments,
    gaps: events.filter((e) => e.type === 'gap').length,
    errors: events.filter((e) => e.type === 'error').map((e) => (e.type === 'error' ? e.message : '')),
    codecs: firstInit?.type === 'init' ? firstInit.codecs : [],
    joined,
    fsCallsWhileSubscribed: calls,
  }),
);
