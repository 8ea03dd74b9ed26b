import { ConfigError } from '@tapo/config';
import { redactText } from '@tapo/log';

export type ShutdownHandler = (signal: string) => Promise<void>;

/**
 * Runs an app's main: a startup error (bad config, Redis unreachable) prints
 * one clear line on stderr and exits 1. SIGINT/SIGTERM call `shutdown` once;
 * a second signal, or `hardTimeoutMs`, exits at once.
 */
export async function runMain(
  name: string,
  start: () => Promise<ShutdownHandler>,
  opts: { hardTimeoutMs?: number } = {},
): Promise<void> {
  let shutdown: ShutdownHandler | undefined;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${name}: second ${signal}: exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    const hard = setTimeout(() => {
      process.stderr.write(`${name}: shutdown took too long: exiting\n`);
      process.exit(1);
    }, opts.hardTimeoutMs ?? 15_000);
    hard.unref();
    void (async () => {
      try {
        await shutdown?.(signal);
      } catch (e) {
        process.stderr.write(`${name}: error during shutdown: ${redactText(String((e as Error)?.message ?? e))}\n`);
      }
      // Let pino's transport flush.
      setTimeout(() => process.exit(0), 100).unref();
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    shutdown = await start();
    if (stopping) await shutdown('SIGTERM');
  } catch (e) {
    const msg = e instanceof ConfigError ? `config error:\n${e.message}` : (e as Error)?.message ?? String(e);
    process.stderr.write(`${name}: ${redactText(msg)}\n`);
    process.exit(1);
  }
}

/** Value of `--flag VALUE` or `--flag=VALUE`. */
export function argValue(argv: string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === flag) return argv[i + 1];
    if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
  }
  return undefined;
}
