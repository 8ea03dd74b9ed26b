// What live copies (issue 13) and live view (issue 14) cost the worker, the board and Redis.
// One simulated camera (10 s segments), the scheduler and one worker (dist bundles under plain
// node, LOG_LEVEL info), against a redis-server of the bench's own (so INFO's counters are this
// installation's and nobody else's). Every phase measures over --seconds after a 15 s warm-up:
//   baseline     recording only: no replicas, no board, no viewer;
//   live copies  + replicas http (to a second installation's receiving board, on a Redis of its
//                own) and s3 (s3rver, inside this process); A's board is started only after the
//                window, to read the bytes / requests per camera-hour from /api/replicas;
//   live view    A's board running, no replicas: 0 viewers, 1 viewer, 10 viewers of
//                GET /api/live/stream?camera=cam1, then 0 again after they left.
// Per phase: CPU (% of one core, /proc/<pid>/stat utime+stime over the window) of the worker, of
// its children (ffmpeg; reaped children counted through cutime+cstime) and of the board; worker /
// board RSS (VmRSS every 250 ms: median, max, and first vs last quarter for growth); Redis
// commands/s (INFO total_commands_processed, which counts the commands inside Lua scripts too; the
// bench's own INFO excluded), Redis CPU and bytes in/out, calls/s per command (INFO commandstats);
// bytes/s each viewer receives. After the window (not in it): 10 s of MONITOR attributing commands
// to connection names (CLIENT LIST), and with 1 viewer 15 s of fragment latency: the worker saw it
// complete on disk (seenAt, from the Redis message) → the viewer read it from the board.
// Not a test; needs dist/ (node scripts/build.mjs).
//
//   npx tsx bench/live-cost.ts [--seconds=60]
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { FRAME, FrameReader, decodeRelay, liveChannel } from '@tapo/live-view';
import { freePort } from '@tapo/sim-camera';
import { ROOT, sleep, waitFor } from '../test/helpers/env.js';
import { ffmpegsByCamera } from '../test/helpers/procs.js';
import { S3RVER_KEYS, startS3rver } from '../test/helpers/s3rver.js';
import { TestStack } from '../test/helpers/stack.js';
import { childrenOf, median, rssBytes } from './procstat.js';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const SECONDS = Number(arg('seconds', '60'));
const WARMUP_MS = 15_000;
const MONITOR_MS = 10_000;
const LATENCY_MS = 15_000;
const TOKEN = 'house-a-live-token-0123456789';
const BUCKET = 'offsite';
/** The apps at the shipped log level (startApp's default is debug). */
const APP_ENV = { LOG_LEVEL: 'info' };

// ---------------------------------------------------------------- processes we own (killed by pid)

const redisServers: ChildProcess[] = [];
const stacks: TestStack[] = [];

/** A redis-server of our own on a free port, nothing persisted. */
async function startRedis(): Promise<{ url: string; child: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'live-cost-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  redisServers.push(child);
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(`redis-server on ${port}`, async () => {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } finally {
      r.disconnect();
    }
  }, 10_000, 100);
  return { url, child, dir };
}

/** SIGKILL by pid; false if it was gone. */
function kill9(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** Stops a stack's apps (SIGTERM, workers first), kills what is left by pid (ffmpegs included), removes its files. */
async function teardown(s: TestStack): Promise<void> {
  await s.stopApps().catch(() => {});
  for (const a of s.apps) kill9(a.pid);
  for (const procs of ffmpegsByCamera(s.recordingsDir).values()) for (const p of procs) if (kill9(p.pid)) console.log(`  killed leftover ffmpeg ${p.pid}`);
  await s.cleanup();
  const i = stacks.indexOf(s);
  if (i >= 0) stacks.splice(i, 1);
}

let cleanedUp = false;
async function cleanupAll(): Promise<void> {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const s of [...stacks]) await teardown(s).catch((e: Error) => console.error(`teardown: ${e.message}`));
  for (const r of redisServers) kill9(r.pid);
}
process.once('SIGINT', () => void cleanupAll().finally(() => process.exit(130)));
process.once('SIGTERM', () => void cleanupAll().finally(() => process.exit(143)));

// ---------------------------------------------------------------- /proc

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
/** utime+stime of the process itself, in seconds. */
const ownCpu = (pid: number) => {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / 100 : 0;
};
/** CPU seconds of everything the process started: reaped children (cutime+cstime) + running ones (and theirs). */
const childrenCpu = (pid: number) => {
  const f = statFields(pid);
  if (!f) return 0;
  let s = (Number(f[13]) + Number(f[14])) / 100;
  for (const c of childrenOf(pid)) {
    const g = statFields(c);
    if (g) s += (Number(g[11]) + Number(g[12]) + Number(g[13]) + Number(g[14])) / 100;
  }
  return s;
};
const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
};
/** Bytes of every file under dir (what the recording wrote). */
function dirBytes(dir: string): number {
  let n = 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      n += e.isDirectory() ? dirBytes(p) : statSync(p, { throwIfNoEntry: false })?.size ?? 0;
    }
  } catch {
    /* not there yet */
  }
  return n;
}

// ---------------------------------------------------------------- Redis counters

type Info = Record<string, string>;
async function info(r: Redis): Promise<Info> {
  const text = await r.info('everything');
  // the reply's size (bulk string + header), to take our own INFO out of total_net_output_bytes
  const out: Info = { bench_reply_bytes: String(Buffer.byteLength(text) + 16) };
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
const infoNum = (i: Info, k: string) => Number(i[k] ?? 0);
/** calls per command from INFO commandstats (cmdstat_get:calls=3,usec=...). */
function cmdCalls(i: Info): Map<string, number> {
  const m = new Map<string, number>();
  for (const [k, v] of Object.entries(i)) if (k.startsWith('cmdstat_')) m.set(k.slice(8), Number(/calls=(\d+)/.exec(v)?.[1] ?? 0));
  return m;
}

/** MONITOR for `ms`: commands/s per connection name (scripts' inner calls under "lua"). Run outside the measured window. */
async function attributeCommands(url: string, ms: number): Promise<Record<string, { perSecond: number; top: Record<string, number> }>> {
  const ctl = new Redis(url);
  const names = new Map<string, string>();
  const refresh = async () => {
    for (const line of String(await ctl.call('CLIENT', 'LIST')).split('\n')) {
      const addr = /addr=(\S+)/.exec(line)?.[1];
      if (addr) names.set(addr, /name=(\S*)/.exec(line)?.[1] || '(unnamed)');
    }
  };
  await refresh();
  const mon = await new Redis(url).monitor();
  const counts = new Map<string, Map<string, number>>();
  const seen: Array<[string, string]> = [];
  mon.on('monitor', (_t: string, args: string[], source: string) => seen.push([source, String(args[0] ?? '').toLowerCase()]));
  await sleep(ms);
  mon.disconnect();
  await refresh();
  for (const [source, cmd] of seen) {
    const who = source === 'lua' ? 'lua (inside scripts)' : (names.get(source) ?? source);
    const m = counts.get(who) ?? new Map<string, number>();
    m.set(cmd, (m.get(cmd) ?? 0) + 1);
    counts.set(who, m);
  }
  ctl.disconnect();
  const out: Record<string, { perSecond: number; top: Record<string, number> }> = {};
  for (const [who, m] of [...counts].sort((a, b) => sum(b[1]) - sum(a[1]))) {
    const top = [...m].sort((a, b) => b[1] - a[1]).slice(0, 6);
    out[who] = { perSecond: round(sum(m) / (ms / 1000), 2), top: Object.fromEntries(top.map(([c, n]) => [c, round(n / (ms / 1000), 2)])) };
  }
  return out;
}
const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

// ---------------------------------------------------------------- viewers

interface Viewer {
  bytes: number;
  fragments: number;
  /** Receive time of each fragment by a hash of its bytes (only when tracking latency). */
  received: Map<string, number> | undefined;
  close(): void;
}
const hashOf = (b: Buffer) => createHash('sha1').update(b).digest('hex');

/** Opens GET /api/live/stream?camera=<id> and counts what arrives (bytes, fragment frames). */
async function openViewer(base: string, camera: string): Promise<Viewer> {
  const ac = new AbortController();
  const res = await fetch(`${base}/api/live/stream?camera=${camera}`, { signal: ac.signal });
  if (res.status !== 200) throw new Error(`live stream: HTTP ${res.status} ${await res.text()}`);
  const v: Viewer = { bytes: 0, fragments: 0, received: undefined, close: () => ac.abort() };
  const reader = new FrameReader();
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const at = Date.now();
        v.bytes += chunk.byteLength;
        for (const f of reader.push(Buffer.from(chunk))) {
          if (f.kind !== FRAME.fragment) continue;
          v.fragments++;
          v.received?.set(hashOf(f.payload), at);
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return v;
}

// ---------------------------------------------------------------- one measured window

interface Procs {
  worker: number;
  board?: number;
}
interface PhaseResult {
  phase: string;
  seconds: number;
  workerCpuPct: number;
  childrenCpuPct: number;
  childrenSeen: string[];
  workerRssMB: { median: number; max: number; firstQuarter: number; lastQuarter: number };
  boardCpuPct?: number;
  boardRssMB?: { median: number; max: number; firstQuarter: number; lastQuarter: number };
  redis: { commandsPerSecond: number; cpuPct: number; inKBps: number; outKBps: number; usedMemoryDeltaKB: number; callsPerSecond: Record<string, number> };
  recordedKBps: number;
  viewers?: { count: number; bytesPerSecond: number[]; fragmentsPerSecond: number[] };
  extra: Record<string, unknown>;
  notes: string[];
}

const mb = (b: number) => round(b / 1e6, 1);
function rssStats(xs: number[]) {
  const q = Math.max(1, Math.floor(xs.length / 4));
  return { median: mb(median(xs)), max: mb(Math.max(...xs)), firstQuarter: mb(median(xs.slice(0, q))), lastQuarter: mb(median(xs.slice(-q))) };
}

/** Measures `SECONDS` of the running installation (call after the warm-up). */
async function measure(phase: string, redis: Redis, procs: Procs, recordingsDir: string, viewers: Viewer[] = []): Promise<PhaseResult> {
  const i0 = await info(redis);
  const t0 = Date.now();
  const w0 = ownCpu(procs.worker);
  const c0 = childrenCpu(procs.worker);
  const b0 = procs.board ? ownCpu(procs.board) : 0;
  const rec0 = dirBytes(recordingsDir);
  const v0 = viewers.map((v) => ({ bytes: v.bytes, fragments: v.fragments }));
  const workerRss: number[] = [];
  const boardRss: number[] = [];
  const kids = new Set<string>();
  while (Date.now() - t0 < SECONDS * 1000) {
    workerRss.push(rssBytes(procs.worker));
    if (procs.board) boardRss.push(rssBytes(procs.board));
    for (const c of childrenOf(procs.worker)) kids.add(comm(c));
    await sleep(250);
  }
  const secs = (Date.now() - t0) / 1000;
  const w1 = ownCpu(procs.worker);
  const c1 = childrenCpu(procs.worker);
  const b1 = procs.board ? ownCpu(procs.board) : 0;
  const rec1 = dirBytes(recordingsDir);
  const v1 = viewers.map((v) => ({ bytes: v.bytes, fragments: v.fragments }));
  const i1 = await info(redis);
  const calls0 = cmdCalls(i0);
  const calls1 = cmdCalls(i1);
  calls1.set('info', (calls1.get('info') ?? 0) - 1); // our INFO at t0
  const callsPerSecond = Object.fromEntries(
    [...calls1].map(([c, n]) => [c, round((n - (calls0.get(c) ?? 0)) / secs, 2)] as const).filter(([, r]) => r > 0).sort((a, b) => b[1] - a[1]),
  );
  const d = (k: string) => infoNum(i1, k) - infoNum(i0, k);
  return {
    phase,
    seconds: round(secs, 1),
    workerCpuPct: round(((w1 - w0) / secs) * 100, 1),
    childrenCpuPct: round(((c1 - c0) / secs) * 100, 1),
    childrenSeen: [...kids],
    workerRssMB: rssStats(workerRss),
    ...(procs.board ? { boardCpuPct: round(((b1 - b0) / secs) * 100, 1), boardRssMB: rssStats(boardRss) } : {}),
    redis: {
      commandsPerSecond: round((d('total_commands_processed') - 1) / secs, 1),
      cpuPct: round(((d('used_cpu_sys') + d('used_cpu_user')) / secs) * 100, 1),
      inKBps: round(d('total_net_input_bytes') / secs / 1000, 1),
      outKBps: round((d('total_net_output_bytes') - infoNum(i0, 'bench_reply_bytes')) / secs / 1000, 1),
      usedMemoryDeltaKB: round(d('used_memory') / 1000, 1),
      callsPerSecond,
    },
    recordedKBps: round((rec1 - rec0) / secs / 1000, 1),
    ...(viewers.length
      ? {
          viewers: {
            count: viewers.length,
            bytesPerSecond: viewers.map((_, k) => Math.round((v1[k]!.bytes - v0[k]!.bytes) / secs)),
            fragmentsPerSecond: viewers.map((_, k) => round((v1[k]!.fragments - v0[k]!.fragments) / secs, 2)),
          },
        }
      : {}),
    extra: {},
    notes: [],
  };
}

/** A's installation: camera, config, scheduler + worker (+ board), recording cam1 on our Redis. */
async function startInstallation(name: string, redisUrl: string, extraConfig = '', env: NodeJS.ProcessEnv = {}): Promise<TestStack> {
  const s = new TestStack(name, { redisUrl });
  stacks.push(s);
  await s.startCamera();
  s.writeConfig([{ id: 'cam1', segmentSeconds: 10 }], extraConfig);
  await s.start('scheduler', { ...APP_ENV, ...env });
  await s.start('worker', { ...APP_ENV, ...env });
  await waitFor('cam1 recording', async () => (await s.progress('cam1'))?.state === 'recording', 60_000, 250);
  return s;
}
const worker = (s: TestStack) => s.apps.find((a) => a.name === 'worker')!.pid;
const boardUp = (s: TestStack) => waitFor('board up', async () => (await fetch(`http://127.0.0.1:${s.boardPort}/api/health`).catch(() => undefined))?.ok, 30_000, 250);

const commonNotes = (r: PhaseResult) => {
  const top = Object.entries(r.redis.callsPerSecond).slice(0, 3).map(([c, n]) => `${c} ${n}`).join(', ');
  r.notes.push(`redis cpu ${r.redis.cpuPct}%, in/out ${r.redis.inKBps}/${r.redis.outKBps} KB/s; top/s: ${top}`);
  // INFO counts the commands Lua scripts (BullMQ) run too; MONITOR tells them apart.
  const by = r.extra.commandsByConnection as Record<string, { perSecond: number }> | undefined;
  if (by) {
    const lua = by['lua (inside scripts)']?.perSecond ?? 0;
    const direct = Object.entries(by).filter(([k]) => !k.startsWith('lua')).reduce((a, [, v]) => a + v.perSecond, 0);
    r.notes.push(`MONITOR: ${round(direct, 1)}/s from clients + ${round(lua, 1)}/s inside scripts${by['recorder-board'] ? `, board ${by['recorder-board'].perSecond}/s` : ''}`);
  }
  const growth = r.workerRssMB.lastQuarter - r.workerRssMB.firstQuarter;
  if (Math.abs(growth) >= 3) r.notes.push(`worker RSS ${growth > 0 ? '+' : ''}${round(growth, 1)} MB first→last quarter`);
  if (r.boardRssMB && Math.abs(r.boardRssMB.lastQuarter - r.boardRssMB.firstQuarter) >= 3) r.notes.push(`board RSS ${round(r.boardRssMB.lastQuarter - r.boardRssMB.firstQuarter, 1)} MB first→last quarter`);
  const odd = r.childrenSeen.filter((c) => c !== 'ffmpeg');
  if (odd.length) r.notes.push(`worker children besides ffmpeg: ${odd.join(', ')}`);
};

// ---------------------------------------------------------------- the phases

const results: PhaseResult[] = [];
const meta = { date: new Date().toISOString(), seconds: SECONDS, warmupSeconds: WARMUP_MS / 1000, host: os.hostname(), cores: os.cpus().length, loadAvgStart: os.loadavg().map((x) => round(x, 2)), loadAvgEnd: [] as number[] };
const redisA = await startRedis();
const redisB = await startRedis();
const counters = new Redis(redisA.url);
let s3: Awaited<ReturnType<typeof startS3rver>> | undefined;
const s3dir = mkdtempSync(path.join(os.tmpdir(), 'live-cost-s3-'));
let failed: unknown;
try {
  // 1. baseline: recording only. What every other phase is compared with.
  {
    console.log('baseline: recording, no replicas, no board');
    const a = await startInstallation('livecost-base', redisA.url);
    await sleep(WARMUP_MS);
    const r = await measure('baseline', counters, { worker: worker(a) }, a.recordingsDir);
    r.extra.commandsByConnection = await attributeCommands(redisA.url, MONITOR_MS);
    commonNotes(r);
    results.push(r);
    await teardown(a);
    await counters.flushall();
  }

  // 2. live copies: the worker also sends the segment being written to an http target (office B's
  //    board, receiving) and as 2 s chunks to an s3 bucket. Board of A only after the window.
  {
    console.log('live copies: + replicas http (office board) and s3 (s3rver)');
    s3 = await startS3rver(s3dir, BUCKET);
    const b = new TestStack('livecost-office', { redisUrl: redisB.url });
    stacks.push(b);
    b.writeConfig([], `receive:\n  tokens:\n    - { id: house-a, token: ${TOKEN}, cameraPrefix: "house-" }`);
    await b.start('board', APP_ENV);
    await boardUp(b);
    const a = await startInstallation(
      'livecost-copies',
      redisA.url,
      `replicas:
  - { id: office, type: http, url: "http://127.0.0.1:${b.boardPort}", token: ${TOKEN} }
  - { id: bucket, type: s3, endpoint: "${s3.endpoint}", bucket: ${BUCKET}, accessKeyId: "\${S3_KEY_ID}", secretAccessKey: "\${S3_SECRET}" }`,
      S3RVER_KEYS,
    );
    await sleep(WARMUP_MS);
    const officeBoard = b.apps[0]!.pid;
    const ob0 = ownCpu(officeBoard);
    const r = await measure('live copies (http + s3)', counters, { worker: worker(a) }, a.recordingsDir);
    const officeCpu = round(((ownCpu(officeBoard) - ob0) / r.seconds) * 100, 1);
    r.extra.commandsByConnection = await attributeCommands(redisA.url, MONITOR_MS);
    // A's board reads the senders' reports (lifetime averages since each sender started) from Redis.
    await a.start('board', { ...APP_ENV, ...S3RVER_KEYS });
    await boardUp(a);
    type Live = { cameraId: string; lagSeconds: number; bytesPerHour: number; liveBytesPerHour: number; requestsPerHour: number; up: boolean };
    let live: Record<string, Live[]> = {};
    await waitFor('live figures on the board', async () => {
      const j = (await (await fetch(`http://127.0.0.1:${a.boardPort}/api/replicas`)).json()) as { replicas: Array<{ id: string; live?: Live[] }> };
      live = Object.fromEntries(j.replicas.map((x) => [x.id, x.live ?? []]));
      return live.office?.length === 1 && live.bucket?.length === 1;
    }, 20_000, 250);
    r.extra.replicasLive = live;
    r.extra.officeBoardCpuPct = officeCpu;
    commonNotes(r);
    for (const [id, [l]] of Object.entries(live)) {
      r.notes.push(`${id}: ${mb(l!.bytesPerHour)} MB/camera-h (live ${mb(l!.liveBytesPerHour)}), ${l!.requestsPerHour} req/camera-h, ${l!.lagSeconds} s behind${l!.up ? '' : ', DOWN'}`);
    }
    r.notes.push(`recorded ${mb(r.recordedKBps * 3600 * 1000)} MB/camera-h; office board cpu ${officeCpu}%`);
    results.push(r);
    await teardown(a);
    await teardown(b);
    await s3.close();
    s3 = undefined;
    await counters.flushall();
  }

  // 3. live view: A's board running, no replicas. 0 → 1 → 10 → 0 viewers on the same installation.
  {
    console.log('live view: board, 0 / 1 / 10 / 0 viewers');
    const a = await startInstallation('livecost-view', redisA.url);
    await a.start('board', APP_ENV);
    await boardUp(a);
    const base = `http://127.0.0.1:${a.boardPort}`;
    const procs = { worker: worker(a), board: a.apps.find((x) => x.name === 'board')!.pid };
    const viewers: Viewer[] = [];
    const viewPhase = async (label: string) => {
      await sleep(WARMUP_MS);
      const r = await measure(label, counters, procs, a.recordingsDir, viewers);
      r.extra.commandsByConnection = await attributeCommands(redisA.url, MONITOR_MS);
      commonNotes(r);
      if (r.viewers) {
        const bps = r.viewers.bytesPerSecond;
        r.notes.push(`per viewer ${round(median(bps) / 1000, 1)} KB/s (min ${round(Math.min(...bps) / 1000, 1)}), ${median(r.viewers.fragmentsPerSecond)} fragments/s; recorded ${r.recordedKBps} KB/s`);
      }
      results.push(r);
      return r;
    };

    // 0 viewers: the board alone (no "want", so the worker should publish nothing).
    await viewPhase('live view, 0 viewers');

    // 1 viewer: the worker publishes each fragment once; the board relays it.
    viewers.push(await openViewer(base, 'cam1'));
    await waitFor('a fragment at the viewer', () => viewers[0]!.fragments > 0, 15_000, 50);
    const one = await viewPhase('live view, 1 viewer');
    {
      // latency, after the window (the bench's subscriber would add to Redis's output).
      const v = viewers[0]!;
      const sub = new Redis(redisA.url);
      const published = new Map<string, { seenAt: number; onRedisAt: number }>();
      sub.on('messageBuffer', (_c: Buffer, m: Buffer) => {
        const { msg } = decodeRelay(m);
        if (msg.type === 'fragment') published.set(hashOf(msg.bytes), { seenAt: msg.seenAt, onRedisAt: Date.now() });
      });
      await sub.subscribe(liveChannel(a.prefix, 'cam1'));
      const received = new Map<string, number>();
      v.received = received;
      await sleep(LATENCY_MS);
      await sleep(1000); // the last published ones reach the viewer
      v.received = undefined;
      sub.disconnect();
      const toRedis: number[] = [];
      const toViewer: number[] = [];
      for (const [h, p] of published) {
        toRedis.push(p.onRedisAt - p.seenAt);
        const at = received.get(h);
        if (at !== undefined) toViewer.push(at - p.seenAt);
      }
      const q = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;
      one.extra.latencyMs = {
        fragments: published.size,
        matchedAtViewer: toViewer.length,
        seenToRedis: { median: median(toRedis), p95: q(toRedis, 0.95), max: Math.max(...toRedis) },
        seenToViewer: { median: median(toViewer), p95: q(toViewer, 0.95), max: Math.max(...toViewer) },
      };
      if (toViewer.length) one.notes.push(`seenAt→viewer median ${median(toViewer)} ms, p95 ${q(toViewer, 0.95)} ms (→Redis ${median(toRedis)} ms; ${toViewer.length}/${published.size} fragments)`);
      else one.notes.push(`latency: no fragment matched (${published.size} published)`);
    }

    // 10 viewers: the same publish rate, fanned out by the board.
    for (let k = 0; k < 9; k++) viewers.push(await openViewer(base, 'cam1'));
    await waitFor('fragments at every viewer', () => viewers.every((v) => v.fragments > 0), 15_000, 50);
    await viewPhase('live view, 10 viewers');

    // 0 again: every viewer gone; the worker stops publishing within its 8 s lease (warm-up 15 s).
    for (const v of viewers.splice(0)) v.close();
    await viewPhase('live view, 0 viewers (after)');
    await teardown(a);
  }
} catch (e) {
  failed = e;
  console.error(e);
} finally {
  meta.loadAvgEnd = os.loadavg().map((x) => round(x, 2));
  counters.disconnect();
  await cleanupAll();
  await s3?.close().catch(() => {});
  for (const d of [redisA.dir, redisB.dir, s3dir]) rmSync(d, { recursive: true, force: true });
}

// ---------------------------------------------------------------- table + JSON

const cell = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(1));
const lines = [
  '| phase | worker CPU % | ffmpeg CPU % | worker RSS median/max MB | board CPU % | Redis commands/s | notes |',
  '|---|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.phase} | ${cell(r.workerCpuPct)} | ${cell(r.childrenCpuPct)} | ${r.workerRssMB.median.toFixed(1)} / ${r.workerRssMB.max.toFixed(1)} | ${cell(r.boardCpuPct)} | ${cell(r.redis.commandsPerSecond)} | ${r.notes.join('; ')} |`),
];
console.log(`\nlive cost, ${SECONDS} s windows after ${WARMUP_MS / 1000} s warm-up (${meta.cores} cores, load ${meta.loadAvgStart.join(' ')} → ${meta.loadAvgEnd.join(' ')}); CPU in % of one core:\n`);
console.log(lines.join('\n'));
const stamp = new Date().toISOString().replace(/[:]/g, '').replace(/\..*/, '');
const file = path.join(ROOT, 'bench', 'results', `${stamp}-live-cost.json`);
writeFileSync(file, JSON.stringify({ ...meta, phases: results, ...(failed ? { error: String((failed as Error).stack ?? failed) } : {}) }, null, 2) + '\n');
console.log(`\nraw numbers: ${path.relative(ROOT, file)}`);
process.exit(failed ? 1 : 0);
