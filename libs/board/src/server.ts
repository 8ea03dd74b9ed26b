import { createServer, type Server } from 'node:http';
import os from 'node:os';
import { createHostAllowList, guardServer, parseAllowedHosts, serverOptions, type ServerGuard } from '@tapo/http-guard';
import type { Queue } from 'bullmq';
import { createExportQueue, createNotifyQueue } from '@tapo/queues';
import { RECEIVE_PATH } from '@tapo/replica-protocol';
import { LiveViewRelay } from '@tapo/live-view';
import type { ConfigSource } from '@tapo/config';
import type { Logger } from '@tapo/log';
import { createMaintenanceQueue, createRecordQueue, createRedis, createRepairQueue, createReplicateQueue, replicateQueueName } from '@tapo/queues';
import { SegmentIndex } from '@tapo/segment-index';
import type { SegmentLifecycle } from '@tapo/segment-lifecycle';
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
  /** Host names besides localhost and IP addresses (a reverse proxy's); default BOARD_ALLOWED_HOSTS. */
  allowedHosts?: string[];
  /** Connection caps; default BOARD_MAX_CONNECTIONS (256) and BOARD_MAX_CONNECTIONS_PER_CLIENT (64). */
  maxConnections?: number;
  maxConnectionsPerClient?: number;
  /** The process's segment index and lifecycle when the board shares a process with a worker (all-in-one). */
  index?: SegmentIndex;
  segments?: SegmentLifecycle;
  logger: Logger;
}

export interface BoardServer {
  url: string;
  port: number;
  server: Server;
  guard: ServerGuard;
  close(): Promise<void>;
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, def: number): number {
  const text = env[name];
  if (text === undefined || text === '') return def;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error(`${name} "${text}" must be a whole number from 1 to 1000000`);
  return n;
}

/** The board's network limits from the environment (BOARD_ALLOWED_HOSTS, BOARD_MAX_CONNECTIONS, BOARD_MAX_CONNECTIONS_PER_CLIENT, BOARD_REQUEST_TIMEOUT_SECONDS). */
export function boardNetFromEnv(env: NodeJS.ProcessEnv = process.env): {
  allowedHosts: string[];
  maxConnections: number;
  maxConnectionsPerClient: number;
  requestTimeoutMs: number;
} {
  return {
    requestTimeoutMs: intFromEnv(env, 'BOARD_REQUEST_TIMEOUT_SECONDS', 30) * 1000,
    allowedHosts: parseAllowedHosts(env.BOARD_ALLOWED_HOSTS),
    maxConnections: intFromEnv(env, 'BOARD_MAX_CONNECTIONS', 256),
    maxConnectionsPerClient: intFromEnv(env, 'BOARD_MAX_CONNECTIONS_PER_CLIENT', 64),
  };
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
  const net = boardNetFromEnv();
  // The machine's own name (and its mDNS name) as well: a phone on the LAN opening http://<box>.local:3000/.
  const hostName = os.hostname().toLowerCase();
  const named = [...(opts.allowedHosts ?? net.allowedHosts), ...(/^[a-z0-9.-]+$/.test(hostName) ? [hostName, `${hostName}.local`] : [])];
  const hosts = createHostAllowList(named);
  let guard: ServerGuard | undefined;
  const redis = createRedis(opts.redisUrl, { name: 'recorder-board' });
  redis.on('error', (e) => opts.logger.debug({ err: e }, 'redis (board) error'));
  // live view: one subscriber connection, a subscription per watched camera (none while nobody watches)
  const liveSub = createRedis(opts.redisUrl, { name: 'recorder-board-live' });
  liveSub.on('error', (e) => opts.logger.debug({ err: e }, 'redis (board live view) error'));
  const liveRelay = new LiveViewRelay({ redis, subscriber: liveSub, prefix: opts.prefix });
  const recordQueue = createRecordQueue(redis, opts.prefix);
  recordQueue.on('error', () => {});
  const repairQueue = createRepairQueue(redis, opts.prefix);
  repairQueue.on('error', () => {});
  const maintenanceQueue = createMaintenanceQueue(redis, opts.prefix);
  maintenanceQueue.on('error', () => {});
  const exportQueue = createExportQueue(redis, opts.prefix);
  exportQueue.on('error', () => {});
  const index = opts.index ?? new SegmentIndex(redis, opts.prefix);
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
    liveRelay,
    extraQueues,
    recordQueue,
    repairQueue,
    maintenanceQueue,
    exportQueue,
    index,
    ...(opts.segments ? { segments: opts.segments } : {}),
    redis,
    prefix: opts.prefix,
    logger: opts.logger,
    hosts,
    serverCounters: (): Record<string, number> => {
      const c = guard?.counters();
      return c ? { connections_refused: c.refusedConnections, requests_timed_out: c.timedOutRequests, uploads_too_slow: c.slowUploads } : {};
    },
    ...(opts.config ? { config: opts.config } : {}),
    ...(opts.auth ? { auth: opts.auth } : {}),
  });
  const limits = { requestTimeoutMs: net.requestTimeoutMs, headersTimeoutMs: Math.min(10_000, net.requestTimeoutMs) };
  const server = createServer(serverOptions(limits), app);
  guard = guardServer(server, {
    ...limits,
    // An authenticated replica upload of a long segment over a slow uplink: a minimum rate instead of a deadline
    // (an unauthenticated one gets its 401 at once, and the connection is closed).
    isUpload: (req) => req.method === 'PUT' && (req.url ?? '').startsWith(`${RECEIVE_PATH}/`),
    maxConnections: opts.maxConnections ?? net.maxConnections,
    maxConnectionsPerClient: opts.maxConnectionsPerClient ?? net.maxConnectionsPerClient,
    onRefused: ({ client, reason }) => opts.logger.warn(`board: connections from ${client} refused: ${reason}`),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`board cannot listen on ${opts.host}:${opts.port}: ${e.code ?? e.message}`)),
    );
    server.listen(opts.port, opts.host, () => resolve());
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
    guard: guard!,
    async close() {
      (app.locals.closeReceiver as (() => void) | undefined)?.();
      (app.locals.closeHls as (() => void) | undefined)?.();
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
      await recordQueue.close();
      await repairQueue.close();
      await maintenanceQueue.close();
      await exportQueue.close();
      for (const q of extraQueues) await q.queue.close().catch(() => {});
      await liveRelay.close();
      await redis.quit().catch(() => {});
    },
  };
}
