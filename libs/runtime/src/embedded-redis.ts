import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { DEFAULT_REDIS_URL } from '@tapo/config';
import type { Logger } from '@tapo/log';
import { redisAnswers, waitForRedis } from '@tapo/queues';

export interface EmbeddedRedis {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts a local redis-server for a one-machine install: AOF on (everysec),
 * maxmemory-policy noeviction (BullMQ needs it), data under dataDir.
 */
export async function startEmbeddedRedis(opts: { dataDir: string; port?: number; logger: Logger }): Promise<EmbeddedRedis> {
  const port = opts.port ?? 6379;
  const dir = path.resolve(opts.dataDir);
  mkdirSync(dir, { recursive: true });
  const child = execa(
    'redis-server',
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--maxmemory-policy', 'noeviction',
      '--save', '',
      '--daemonize', 'no',
      '--protected-mode', 'yes',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], buffer: false, reject: false, cleanup: true },
  );
  const tail: string[] = [];
  const keep = (c: Buffer) => {
    tail.push(...c.toString().split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 20));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const done = child.then(
    () => undefined,
    () => undefined,
  );
  void done.then(() => (exited = true));
  const spawnError = await Promise.race([
    new Promise<Error | undefined>((r) => child.once('error', (e) => r(e))),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 200)),
  ]);
  if (spawnError) {
    throw new Error(
      `cannot start redis-server (${spawnError.message}): install it (apt-get install redis-server) or set REDIS_URL`,
    );
  }
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitForRedis(url, 10_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`embedded redis-server did not start: ${tail.slice(-5).join(' | ') || (e as Error).message}`);
  }
  opts.logger.info({ dataDir: dir, pid: child.pid }, `started embedded redis-server on ${url} (AOF on, data in ${dir})`);
  return {
    url,
    pid: child.pid,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 5000).unref())]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}

/**
 * Where Redis is: $REDIS_URL when set; else 127.0.0.1:6379 when it answers;
 * else (only if allowed) a redis-server we start ourselves.
 */
export async function resolveRedis(opts: {
  redisUrl: string | undefined;
  allowEmbedded: boolean;
  dataDir: string;
  logger: Logger;
}): Promise<{ url: string; embedded?: EmbeddedRedis }> {
  if (opts.redisUrl) {
    await waitForRedis(opts.redisUrl, 15_000);
    return { url: opts.redisUrl };
  }
  if (await redisAnswers(DEFAULT_REDIS_URL, 1500)) return { url: DEFAULT_REDIS_URL };
  if (!opts.allowEmbedded) {
    await waitForRedis(DEFAULT_REDIS_URL, 15_000);
    return { url: DEFAULT_REDIS_URL };
  }
  opts.logger.info('nothing answers on 127.0.0.1:6379 and REDIS_URL is not set: starting a local redis-server');
  const embedded = await startEmbeddedRedis({ dataDir: opts.dataDir, logger: opts.logger });
  return { url: embedded.url, embedded };
}
