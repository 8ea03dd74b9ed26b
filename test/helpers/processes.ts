import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './env.js';

export interface AppProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Everything it printed (stdout + stderr). */
  output(): string;
  /** Resolves with the exit code/signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<string>;
}

/** The node flags every app runs with (package.json scripts, Dockerfile, systemd units). */
export const APP_NODE_FLAGS = ['--max-semi-space-size=1', '--single-threaded-gc'];

/**
 * Starts one of our apps as its own node process, the way `npm run <name>`
 * does: the bundle dist/<name>.mjs (built by the integration tests' global
 * setup, scripts/build.mjs) under plain node. The CLI runs from its sources
 * through tsx, as `npx recorder` does. The pid is the node process itself, so
 * signals reach it.
 */
export function startApp(
  name: 'scheduler' | 'worker' | 'board' | 'all-in-one' | 'cli',
  env: NodeJS.ProcessEnv,
  args: string[] = [],
  opts: { cwd?: string } = {},
): AppProcess {
  // tsx resolved from the repo, so the CLI can run with any working directory.
  const argv =
    name === 'cli'
      ? ['--import', import.meta.resolve('tsx'), path.join(ROOT, 'apps', 'cli', 'src', 'main.ts')]
      : [...APP_NODE_FLAGS, path.join(ROOT, 'dist', `${name}.mjs`)];
  const child = spawn(process.execPath, [...argv, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (c: Buffer) => {
    out += c.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    name,
    child,
    pid: child.pid!,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (!done) {
        child.kill(signal);
        const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const r = await exited;
        clearTimeout(t);
        return r;
      }
      return exited;
    },
    waitForOutput(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(out);
          if (m) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(m[0]);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${name}: no output matching ${re} within ${timeoutMs} ms. Output:\n${out.slice(-3000)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
        void exited.then(() => {
          if (listeners.has(check)) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`${name} exited before printing ${re}. Output:\n${out.slice(-3000)}`));
          }
        });
      });
    },
  };
}
