import type { Server } from 'node:http';
import os from 'node:os';
import type { Queue } from 'bullmq';
import { createNotifyQueue } from '@tapo/alerts';
import { createReplicateQueue } from '@tapo/replication';
import type { ConfigSource } from '@tapo/config';
import type { Logger } from '@tapo/log';
import { createMaintenanceQueue, createRecordQueue, createRedis, createRepairQueue, replicateQueueName } from '@tapo/queues';
import { SegmentIndex } from '@tapo/segment-index';
import { createExportQueue } from '@tapo/export';
import { checkExposure, type BoardAuth } from './auth.js';
import { createBoardApp } from './app.js';

export interface BoardServerOptions {
  redisUrl: string;
  prefix: string;
  host: string;
  port: number;
  config?: ConfigSource;
  auth?: BoardAuth;
  /** Serve a non-loopback address without auth (containers publishing the port on loopback only). */
  allowNoAuth?: boolean;
  logger: Logger;
}

export interface BoardServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export function boardAuthFromEnv(env: NodeJS.ProcessEnv = process.env): BoardAuth | undefined {
  const user = env.BOARD_USER;
  const password = env.BOARD_PASSWORD;
  if (!user && !password) return undefined;
  if (!user || !password) throw new Error('set both BOARD_USER and BOARD_PASSWORD (or neither)');
  return { user, password };
}

export async function startBoardServer(opts: BoardServerOptions): Promise<BoardServer> {
  checkExposure(opts.host, opts.auth, opts.allowNoAuth ?? process.env.BOARD_ALLOW_NO_AUTH === 'true');
  const redis = createRedis(opts.redisUrl, { name: 'recorder-board' });
  redis.on('error', (e) => opts.logger.debug({ err: e }, 'redis (board) error'));
  const recordQueue = createRecordQueue(redis, opts.prefix);
  recordQueue.on('error', () => {});
  const repairQueue = createRepairQueue(redis, opts.prefix);
  repairQueue.on('error', () => {});
  const maintenanceQueue = createMaintenanceQueue(redis, opts.prefix);
  maintenanceQueue.on('error', () => {});
  const exportQueue = createExportQueue(redis, opts.prefix);
  exportQueue.on('error', () => {});
  const index = new SegmentIndex(redis, opts.prefix);
  // Alerts and off-site copies in Bull Board: the notify queue and one replicate queue per target.
  const extraQueues: Array<{ queue: Queue; description: string }> = [
    { queue: createNotifyQueue(redis, opts.prefix), description: 'Alert messages (webhook / ntfy), retried while a target is down' },
  ];
  const cfg = opts.config?.get();
  const replicateNames = new Set(cfg?.replicas.map((r) => replicateQueueName(r.id, cfg.storage, os.hostname())) ?? []);
  // With storage: local each host has its own replicate queues: find them in Redis.
  for (const key of await redis.keys(`${opts.prefix}:replicate-*:meta`).catch(() => [] as string[])) {
    replicateNames.add(key.slice(opts.prefix.length + 1, -':meta'.length));
  }
  for (const name of [...replicateNames].sort()) {
    extraQueues.push({ queue: createReplicateQueue(redis, opts.prefix, name), description: 'Off-site copies of closed segments, newest first' });
  }
  for (const q of extraQueues) q.queue.on('error', () => {});
  const app = createBoardApp({
    extraQueues,
    recordQueue,
    repairQueue,
    maintenanceQueue,
    exportQueue,
    index,
    redis,
    prefix: opts.prefix,
    logger: opts.logger,
    ...(opts.config ? { config: opts.config } : {}),
    ...(opts.auth ? { auth: opts.auth } : {}),
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(opts.port, opts.host, () => resolve(s));
    // A replica upload of a long segment over a slow uplink may take a while.
    s.requestTimeout = 30 * 60_000;
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`board cannot listen on ${opts.host}:${opts.port}: ${e.code ?? e.message}`)),
    );
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${hostForUrl}:${port}`;
  opts.logger.info({ url: `${url}/queues` }, `board: ${url}/ (status) and ${url}/queues (Bull Board)`);
  return {
    url,
    port,
    server,
    async close() {
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      await recordQueue.close();
      await repairQueue.close();
      await maintenanceQueue.close();
      await exportQueue.close();
      for (const q of extraQueues) await q.queue.close().catch(() => {});
      await redis.quit().catch(() => {});
    },
  };
}
