/**
 * Simulated Tapo C200: spawns libs/sim-camera/sim_camera.py (gst-rtsp-server) and
 * exposes a small handle for tests, benchmarks, demo mode and the
 * tools/sim-camera CLI.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';
/** The python script: next to src/ when run from the sources, under libs/sim-camera/ when bundled into dist/. */
export const SCRIPT = ['../sim_camera.py', '../libs/sim-camera/sim_camera.py']
  .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  .find((p) => existsSync(p)) ?? fileURLToPath(new URL('../sim_camera.py', import.meta.url));

export interface SimCameraOptions {
  port?: number;
  host?: string;
  user?: string;
  password?: string;
  width?: number;
  height?: number;
  fps?: number;
  audio?: boolean;
  readyTimeoutMs?: number;
  /** Omit sprop-parameter-sets from the SDP, like some Tapo firmware (SPS/PPS stay in-band). */
  nullSprop?: boolean;
}

export interface SimCamera {
  port: number;
  host: string;
  pid: number;
  /** rtsp://[user:pass@]host:port/stream1 (credentials included by default when set). */
  url(stream?: 'stream1' | 'stream2', withCredentials?: boolean): string;
  /** SIGSTOP: TCP connections stay open but no data flows (unplugged camera). */
  freeze(): void;
  /** SIGCONT */
  resume(): void;
  /** SIGCONT then SIGTERM, SIGKILL after 3 s; resolves once exited. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL */
  kill(): void;
  /** Exit code (null when killed by a signal). Never rejects. */
  exited: Promise<number | null>;
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** Checks that Debian's python can import gi + GstRtspServer and the GStreamer elements exist. */
export function simCameraAvailable(): Promise<{ ok: boolean; reason?: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [SCRIPT, '--check'], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (!err && stdout.trim() === 'OK') resolve({ ok: true });
      else resolve({ ok: false, reason: (stderr.trim() || err?.message || stdout.trim()).slice(-500) });
    });
  });
}

// Children still running when Node exits get SIGKILLed (one listener for all of them).
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startSimCamera(opts: SimCameraOptions = {}): Promise<SimCamera> {
  if (Boolean(opts.user) !== Boolean(opts.password)) {
    throw new Error('sim-camera: user and password must be given together');
  }
  if (opts.port !== undefined) return start(opts, opts.port);
  // A port from freePort() can be taken by someone else before python binds it: retry.
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(opts, await freePort());
    } catch (e) {
      if (attempt >= 3 || !String(e).includes('cannot listen')) throw e;
    }
  }
}

async function start(opts: SimCameraOptions, port: number): Promise<SimCamera> {
  const host = opts.host ?? '127.0.0.1';
  const args = [SCRIPT, '--host', host, '--port', String(port)];
  // `--name=value`: a value starting with '-' (a random base64url password does, 1 time in 64) is not taken for an option.
  if (opts.user && opts.password) args.push(`--user=${opts.user}`, `--password=${opts.password}`);
  if (opts.width) args.push('--width', String(opts.width));
  if (opts.height) args.push('--height', String(opts.height));
  if (opts.fps) args.push('--fps', String(opts.fps));
  if (opts.audio === false) args.push('--no-audio');
  if (opts.nullSprop) args.push('--null-sprop');

  const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderrTail = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderrTail = (stderrTail + d).slice(-4000);
  });

  let alive = true;
  live.add(child);
  const exited = new Promise<number | null>((resolve) => {
    const done = (code: number | null) => {
      alive = false;
      live.delete(child);
      resolve(code);
    };
    child.once('exit', (code) => done(code));
    child.once('error', () => done(null));
  });

  const signal = (sig: NodeJS.Signals) => {
    if (alive && child.pid) {
      try {
        process.kill(child.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      signal('SIGCONT'); // a stopped process would not handle SIGTERM
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    })());

  const timeoutMs = opts.readyTimeoutMs ?? 15_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`sim-camera ${why} (port ${port})${stderrTail ? `; stderr:\n${stderrTail.trim()}` : ''}`));
      };
      const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
      let buf = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        if (/^READY rtsp:\/\/\S+$/m.test(buf)) {
          clearTimeout(timer);
          buf = '';
          resolve();
        }
      });
      child.once('error', (e) => fail(`failed to spawn ${PYTHON}: ${e.message}`));
      // 'close' (not 'exit') so that stderr has been fully read into stderrTail.
      child.once('close', (code, sig) => fail(`exited before READY (code ${code}, signal ${sig})`));
    });
  } catch (e) {
    await stop();
    throw e;
  }

  const cred = () => `${encodeURIComponent(opts.user!)}:${encodeURIComponent(opts.password!)}@`;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    port,
    host,
    pid: child.pid!,
    url: (stream = 'stream1', withCredentials = true) =>
      `rtsp://${withCredentials && opts.user ? cred() : ''}${urlHost}:${port}/${stream}`,
    freeze: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    stop,
    kill: () => signal('SIGKILL'),
    exited,
  };
}
