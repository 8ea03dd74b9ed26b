import { existsSync } from 'node:fs';
import { execa } from 'execa';
import {
  ProgressParser,
  SegmentListParser,
  type FfmpegProgress,
  type SegmentListEntry,
} from '@tapo/ffmpeg';

export interface FfmpegExit {
  code: number | null;
  signal: string | null;
  /** Last stderr lines (unredacted: redact before logging). */
  stderrTail: string[];
}

export interface FfmpegRunHandlers {
  onProgress(p: FfmpegProgress): void;
  onSegmentClosed(e: SegmentListEntry): void;
  onSegmentOpened(file: string): void;
  onStderrLine(line: string): void;
}

export interface FfmpegRun {
  pid: number | undefined;
  exited: Promise<FfmpegExit>;
  /** Asks ffmpeg to finish cleanly ("q" on stdin), then SIGTERM, then SIGKILL. */
  quit(graceMs?: number): Promise<FfmpegExit>;
  /** SIGTERM, then SIGKILL after graceMs. */
  terminate(graceMs?: number): Promise<FfmpegExit>;
}

const SETPRIV = '/usr/bin/setpriv';
const STDERR_TAIL = 30;

/**
 * Starts ffmpeg with progress on fd 1, logs on fd 2, the segment list on fd 3
 * and stdin open for "q". On Linux, ffmpeg is started through
 * `setpriv --pdeathsig KILL` so it dies with the worker process (no orphan
 * keeps writing a camera that another worker took over).
 */
export function startFfmpeg(ffmpegPath: string, args: string[], handlers: FfmpegRunHandlers): FfmpegRun {
  const usePdeathsig = process.platform === 'linux' && existsSync(SETPRIV);
  const file = usePdeathsig ? SETPRIV : ffmpegPath;
  const argv = usePdeathsig ? ['--pdeathsig', 'KILL', '--', ffmpegPath, ...args] : args;
  const child = execa(file, argv, {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    buffer: false,
    reject: false,
    forceKillAfterDelay: false,
    cleanup: true,
    env: { TZ: 'UTC', AV_LOG_FORCE_NOCOLOR: '1' },
    extendEnv: true,
    windowsHide: true,
  });

  const tail: string[] = [];
  const progress = new ProgressParser(handlers.onProgress);
  const list = new SegmentListParser(handlers.onSegmentClosed);
  let errBuf = '';
  child.stdout?.on('data', (c: Buffer) => progress.push(c));
  const fd3 = child.stdio[3] as NodeJS.ReadableStream | undefined;
  fd3?.on('data', (c: Buffer) => list.push(c));
  fd3?.on('error', () => {});
  child.stdin?.on('error', () => {});
  child.stderr?.on('data', (c: Buffer) => {
    errBuf += c.toString('utf8');
    let nl: number;
    while ((nl = errBuf.search(/[\r\n]/)) >= 0) {
      const line = errBuf.slice(0, nl).trim();
      errBuf = errBuf.slice(nl + 1);
      if (!line) continue;
      tail.push(line);
      if (tail.length > STDERR_TAIL) tail.shift();
      const m = /Opening '([^']+)' for writing/.exec(line);
      if (m && /\[segment @/.test(line)) handlers.onSegmentOpened(m[1]!);
      handlers.onStderrLine(line);
    }
    if (errBuf.length > 16 * 1024) errBuf = '';
  });

  const exited: Promise<FfmpegExit> = child.then(
    (r) => ({ code: r.exitCode ?? null, signal: r.signal ?? null, stderrTail: [...tail] }),
    (e: { exitCode?: number; signal?: string }) => ({
      code: e.exitCode ?? null,
      signal: e.signal ?? null,
      stderrTail: [...tail, String((e as Error).message ?? e)],
    }),
  );
  let done = false;
  void exited.then(() => (done = true));

  const waitFor = (ms: number) =>
    Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);

  async function terminate(graceMs = 2000): Promise<FfmpegExit> {
    if (!done) {
      child.kill('SIGTERM');
      if (!(await waitFor(graceMs))) child.kill('SIGKILL');
    }
    return exited;
  }

  async function quit(graceMs = 5000): Promise<FfmpegExit> {
    if (!done) {
      try {
        child.stdin?.write('q');
        child.stdin?.end();
      } catch {
        /* stdin already closed */
      }
      if (!(await waitFor(graceMs))) return terminate(2000);
    }
    return exited;
  }

  return { pid: child.pid, exited, quit, terminate };
}
