// Every process the bench spawns, and every clean-up it owes (Redis prefixes,
// temp dirs), registered here so they go even when a step throws or the run is
// interrupted (Ctrl-C, SIGTERM): processes are killed by pid, never by name.
import type { ChildProcess } from 'node:child_process';

const live = new Map<number, { child: ChildProcess; group: boolean }>();
const cleanups = new Set<() => Promise<void> | void>();

/** Remembers a spawned process until it exits. `group`: it was spawned detached, kill its whole process group. */
export function track<T extends ChildProcess>(child: T, opts: { group?: boolean } = {}): T {
  const pid = child.pid;
  if (pid) {
    live.set(pid, { child, group: opts.group ?? false });
    child.once('exit', () => live.delete(pid));
  }
  return child;
}

export function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Sends `signal` to one tracked process (its group when spawned detached). */
export function signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
  const pid = child.pid;
  if (!pid || !isAlive(child)) return;
  try {
    process.kill(live.get(pid)?.group ? -pid : pid, signal);
  } catch {
    /* already gone */
  }
}

/** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves once it exited. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (!child.pid || !isAlive(child)) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  signalChild(child, signal);
  const timer = setTimeout(() => signalChild(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export function killAllTracked(): void {
  for (const { child } of live.values()) signalChild(child, 'SIGKILL');
}

/** Registers an async clean-up (Redis keys, temp dirs) run on interruption; call the returned function once done. */
export function onCleanup(fn: () => Promise<void> | void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Runs `fn` with a clean-up that runs after it, whatever happens, and also on interruption. */
export async function withCleanup<T>(cleanup: () => Promise<void> | void, fn: () => Promise<T>): Promise<T> {
  const off = onCleanup(cleanup);
  try {
    return await fn();
  } finally {
    off();
    await cleanup();
  }
}

let interrupted = false;
async function interrupt(sig: NodeJS.Signals): Promise<void> {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write(`\nbench: ${sig}: stopping spawned processes and cleaning up...\n`);
  killAllTracked();
  const all = [...cleanups].map(async (fn) => {
    try {
      await fn();
    } catch {
      /* best effort */
    }
  });
  await Promise.race([Promise.all(all), new Promise((r) => setTimeout(r, 10_000))]);
  process.exit(130);
}
process.once('SIGINT', () => void interrupt('SIGINT'));
process.once('SIGTERM', () => void interrupt('SIGTERM'));
process.on('exit', killAllTracked);
