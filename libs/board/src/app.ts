import os from 'node:os';
import express, { type Express } from 'express';
import type { Queue } from 'bullmq';
import { RECEIVE_PATH } from '@tapo/replica-protocol';
import { createReceiveRouter } from '@tapo/replica-receiver';
import { liveReplicationKey, liveStatusOf, replicationStatus, replicationUsageKey } from '@tapo/replication';
import { createHostAllowList, LoginThrottle, type HostAllowList } from '@tapo/http-guard';
import type { Redis } from 'ioredis';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { ConfigSource } from '@tapo/config';
import type { Logger } from '@tapo/log';
import { readCounters, type ExportQueue, type MaintenanceQueue, type RecordQueue, type RepairQueue } from '@tapo/queues';
import { SegmentIndex } from '@tapo/segment-index';
import { SegmentLifecycle } from '@tapo/segment-lifecycle';
import { createApiRouter, segmentsOverlapping } from './api.js';
import { basicAuth, type BoardAuth } from './auth.js';
import { bullBoardWriteGuard, hostGuard, sameOriginGuard } from './guard.js';
import { listCameraStatus } from '@tapo/status';
import { createBoardMetrics } from './metrics.js';
import { buildSpans, renderExportPage, renderPlayPage, renderTimelinePage } from './pages.js';
import { validCameraId, validSegmentRel } from './paths.js';
import { renderStatusPage } from './status-page.js';
import { renderLivePage } from './live-page.js';
import { HlsViews, startViewerStream, type LiveViewRelay } from '@tapo/live-view';

export interface BoardAppOptions {
  recordQueue: RecordQueue;
  repairQueue?: RepairQueue;
  maintenanceQueue?: MaintenanceQueue;
  exportQueue?: ExportQueue;
  /** Queues shown in Bull Board with retries allowed (notify, replicate-<target>...). */
  extraQueues?: Array<{ queue: Queue; description: string }>;
  /** The segment index (made from `redis` when not given). */
  index?: SegmentIndex;
  /** The process's segment lifecycle: received segments go through it (one with no consumers when not given). */
  segments?: SegmentLifecycle;
  redis: Redis;
  prefix: string;
  config?: ConfigSource;
  auth?: BoardAuth;
  /** Host names answered to (default: localhost and IP addresses only). */
  hosts?: HostAllowList;
  /** Failed-login throttle (default: a new one with the default policy). */
  loginThrottle?: LoginThrottle;
  /** The HTTP server's guard counters (for /metrics). */
  serverCounters?(): Record<string, number>;
  /** Live view: the fragments of watched cameras from the workers (none: /live says it is off). */
  liveRelay?: LiveViewRelay;
  logger: Logger;
}

/** Cameras one live stream may carry (a page's grid). */
const MAX_LIVE_CAMERAS = 32;

/**
 * The board: Bull Board at /queues (the record queue read-only: a click must
 * not start a second recorder), a status page at /, and a JSON API under /api.
 */
export function createBoardApp(opts: BoardAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  const index = opts.index ?? new SegmentIndex(opts.redis, opts.prefix);
  // Before any route: unknown Host names (DNS rebinding) and cross-site writes.
  const hosts = opts.hosts ?? createHostAllowList([]);
  app.use(hostGuard(hosts, opts.logger));
  app.use(sameOriginGuard(hosts, RECEIVE_PATH));
  // Uploads from other installations (their http replicas) carry their own
  // bearer token (config receive.tokens), so this router comes before basic auth.
  if (opts.config) {
    const config = opts.config;
    const segments =
      opts.segments ??
      new SegmentLifecycle({
        index,
        recordingsDir: () => config.get().recordingsDir,
        logger: opts.logger,
        // The receiver only hands on segments it has checked: nothing here goes to the verify job.
        enqueueVerify: async (ref) => {
          throw new Error(`the board does not verify segments (${ref.file})`);
        },
      });
    const receiver = createReceiveRouter({
      getConfig: () => config.get(),
      index,
      onStored: async (seg) => void (await segments.playable({ ...seg, how: 'received', status: 'ok' })),
      logger: opts.logger,
    });
    // its timer finishes live copies whose sender went silent: stopped with the server
    app.locals.closeReceiver = () => receiver.close();
    app.use(receiver);
  }
  // Auth next: it covers every other route (pages, /api, /queues).
  const throttle = opts.loginThrottle ?? new LoginThrottle();
  if (opts.auth) app.use(basicAuth(opts.auth, { throttle, logger: opts.logger }));
  const apiStats = { thumbnailCacheEntries: () => 0 };

  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/queues');
  createBullBoard({
    queues: [
      new BullMQAdapter(opts.recordQueue, {
        readOnlyMode: true,
        description: 'One long-lived job per camera; progress is the recording heartbeat',
      }),
      ...(opts.repairQueue
        ? [new BullMQAdapter(opts.repairQueue, { allowRetries: true, description: 'Verify / repair segment files' })]
        : []),
      ...(opts.maintenanceQueue
        ? [new BullMQAdapter(opts.maintenanceQueue, { allowRetries: true, description: 'Ring buffer: prune (scheduled), scan' })]
        : []),
      ...(opts.exportQueue
        ? [new BullMQAdapter(opts.exportQueue, { allowRetries: true, description: 'Exports: segments of a time range joined into one MP4' })]
        : []),
      ...(opts.extraQueues ?? []).map((q) => new BullMQAdapter(q.queue, { allowRetries: true, description: q.description })),
    ],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'tapo-recorder' } },
  });
  app.use('/queues', bullBoardWriteGuard(), serverAdapter.getRouter());

  app.get('/api/replicas', async (_req, res) => {
    const config = opts.config?.get();
    if (!config) return void res.json({ replicas: [] });
    try {
      res.json({ replicas: await replicationStatus(opts.redis, opts.prefix, config, os.hostname()) });
    } catch (e) {
      res.status(503).json({ error: `cannot read the replication status: ${(e as Error).message}` });
    }
  });

  app.get('/api/health', async (_req, res) => {
    try {
      await opts.redis.ping();
      res.json({ ok: true, redis: 'up' });
    } catch (e) {
      res.status(503).json({ ok: false, redis: 'down', error: (e as Error).message });
    }
  });

  const cameraStatus = () => listCameraStatus(opts.recordQueue, opts.redis, opts.prefix, opts.config?.get(), index);
  const cameraIds = async () => {
    const ids = new Set(opts.config?.get().cameras.map((c) => c.id) ?? []);
    for (const c of await index.cameras()) ids.add(c);
    return [...ids].sort();
  };

  // Live view: the status of cameras for the streams, shared for 2 s (one query however many watch)
  let statusCache: { at: number; p: Promise<Map<string, Awaited<ReturnType<typeof cameraStatus>>[number]>> } | undefined;
  const statusOf = async (cameraId: string) => {
    if (!statusCache || Date.now() - statusCache.at > 2000) {
      statusCache = { at: Date.now(), p: cameraStatus().then((all) => new Map(all.map((c) => [c.id, c]))) };
      statusCache.p.catch(() => (statusCache = undefined));
    }
    return (await statusCache.p).get(cameraId);
  };
  const liveCameras = async () => {
    const names = new Map(opts.config?.get().cameras.map((c) => [c.id, c.name]) ?? []);
    return (await cameraIds()).map((id) => ({ id, ...(names.get(id) ? { name: names.get(id)! } : {}) }));
  };
  app.get('/live', async (_req, res) => {
    res.type('html').send(renderLivePage({ cameras: await liveCameras(), single: false }));
  });
  app.get('/live/:camera', async (req, res) => {
    const id = req.params.camera;
    if (!validCameraId(id)) return void res.status(400).type('text').send('invalid camera id');
    const cam = (await liveCameras()).find((c) => c.id === id);
    if (!cam) return void res.status(404).type('text').send(`no camera "${id}"`);
    res.type('html').send(renderLivePage({ cameras: [cam], single: true }));
  });
  // HLS for browsers without Media Source Extensions (iPhone Safari < 17.1): the same fragments, a GOP per segment
  const hls = opts.liveRelay ? new HlsViews(opts.liveRelay) : undefined;
  app.locals.closeHls = () => hls?.close();
  const hlsCamera = async (req: express.Request, res: express.Response): Promise<string | undefined> => {
    const id = req.params.camera!;
    if (!hls) return void res.status(503).type('text').send('live view is not available on this board');
    if (!validCameraId(id) || !(await cameraIds()).includes(id)) return void res.status(404).type('text').send(`no camera "${String(id).slice(0, 64)}"`);
    return id;
  };
  app.get('/api/live/:camera/hls/index.m3u8', async (req, res) => {
    const id = await hlsCamera(req, res);
    if (!id) return;
    const win = hls!.window(id);
    // a first request waits for two GOPs (a few seconds) rather than answering an empty list
    const until = Date.now() + 10_000;
    while (win.ready < 2 && Date.now() < until && !req.destroyed) await new Promise((r) => setTimeout(r, 100));
    const text = win.playlist();
    if (!text) return void res.status(503).set('Retry-After', '2').type('text').send('no live video yet');
    res.set({ 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'no-store' }).send(text);
  });
  app.get('/api/live/:camera/hls/:file', async (req, res) => {
    const id = await hlsCamera(req, res);
    if (!id) return;
    const win = hls!.existing(id);
    const m = /^(init|seg)-(\d{1,12})\.(mp4|m4s)$/.exec(req.params.file);
    const body = win && m ? (m[1] === 'init' ? win.init(Number(m[2])) : win.segment(Number(m[2]))) : undefined;
    if (!body) return void res.status(404).type('text').send('no such live segment (it is older than the window)');
    res.set({ 'Content-Type': m![1] === 'init' ? 'video/mp4' : 'video/iso.segment', 'Cache-Control': m![1] === 'init' ? 'max-age=60' : 'max-age=30' }).send(body);
  });

  app.get('/api/live/stream', async (req, res) => {
    const relay = opts.liveRelay;
    if (!relay) return void res.status(503).json({ error: 'live view is not available on this board' });
    const raw = req.query.camera;
    const cameras = (Array.isArray(raw) ? raw : [raw]).filter((c): c is string => typeof c === 'string' && c !== '');
    if (cameras.length === 0) return void res.status(400).json({ error: 'camera=<id> is required (repeat it for several)' });
    if (cameras.length > MAX_LIVE_CAMERAS) return void res.status(400).json({ error: `at most ${MAX_LIVE_CAMERAS} cameras per stream` });
    const bad: string | undefined = cameras.find((c) => !validCameraId(c));
    if (bad !== undefined) return void res.status(400).json({ error: `invalid camera id "${String(bad).slice(0, 64)}"` });
    const known = new Set(await cameraIds());
    const unknown = cameras.find((c) => !known.has(c));
    if (unknown) return void res.status(404).json({ error: `no camera "${unknown}"` });
    res.status(200).set({ 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no', 'X-Content-Type-Options': 'nosniff' });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    const stop = startViewerStream({
      relay,
      cameras,
      sink: res,
      cameraState: async (id) => {
        const st = await statusOf(id);
        const recording = st?.state === 'recording' || st?.state === 'starting';
        const last = st?.progress?.lastProgressAt ?? st?.lastSegmentAt;
        const since = last ? Date.parse(last) : undefined;
        return { recording, ...(since !== undefined && Number.isFinite(since) ? { since } : {}), message: recording ? 'recording' : `camera ${st?.state ?? 'offline'}` };
      },
    });
    res.on('close', stop);
  });

  app.get('/api/cameras', async (_req, res) => {
    try {
      const cameras = await cameraStatus();
      res.json({ cameras, generatedAt: new Date().toISOString() });
    } catch (e) {
      opts.logger.warn({ err: e }, 'GET /api/cameras failed');
      res.status(503).json({ error: `cannot read the queue: ${(e as Error).message}` });
    }
  });

  const metrics = createBoardMetrics({
    cameras: cameraStatus,
    queues: [
      { name: 'record', queue: opts.recordQueue },
      ...(opts.repairQueue ? [{ name: opts.repairQueue.name, queue: opts.repairQueue }] : []),
      ...(opts.maintenanceQueue ? [{ name: opts.maintenanceQueue.name, queue: opts.maintenanceQueue }] : []),
      ...(opts.exportQueue ? [{ name: opts.exportQueue.name, queue: opts.exportQueue }] : []),
    ],
    counters: () => readCounters(opts.redis, opts.prefix),
    liveReplicas: async () => {
      const config = opts.config?.get();
      if (!config?.replicas.length) return [];
      const hash = await opts.redis.hgetall(liveReplicationKey(opts.prefix));
      const usage = await opts.redis.hgetall(replicationUsageKey(opts.prefix));
      return config.replicas.flatMap((r) => liveStatusOf(r.id, hash, Date.now(), usage).map((l) => ({ target: r.id, camera: l.cameraId, ...l })));
    },
    board: () => ({ ...opts.serverCounters?.(), thumbnail_cache_entries: apiStats.thumbnailCacheEntries(), login_throttled_clients: throttle.size }),
  });
  app.get('/metrics', async (_req, res) => {
    try {
      const text = await metrics.render();
      res.type(metrics.contentType).send(text);
    } catch (e) {
      opts.logger.warn({ err: e }, 'GET /metrics failed');
      res.status(503).type('text').send(`cannot collect metrics: ${(e as Error).message}`);
    }
  });

  app.use(
    '/api',
    createApiRouter({
      index,
      logger: opts.logger,
      stats: apiStats,
      ...(opts.config ? { config: opts.config } : {}),
      ...(opts.exportQueue ? { exportQueue: opts.exportQueue } : {}),
    }),
  );

  app.get('/', async (_req, res) => {
    try {
      const cameras = await cameraStatus();
      const config = opts.config?.get();
      const replicas = config?.replicas.length ? await replicationStatus(opts.redis, opts.prefix, config, os.hostname()).catch(() => []) : [];
      res.type('html').send(renderStatusPage(cameras, replicas));
    } catch (e) {
      res.status(503).type('text').send(`cannot read the queue: ${(e as Error).message}`);
    }
  });

  app.get('/timeline', async (req, res) => {
    try {
      const cameras = await cameraIds();
      const q = req.query;
      const camera = typeof q.camera === 'string' && q.camera ? q.camera : cameras[0];
      if (camera !== undefined && !validCameraId(camera)) return void res.status(400).type('text').send('invalid camera id');
      const day = typeof q.day === 'string' && q.day ? q.day : undefined;
      let fromMs: number;
      let toMs: number;
      if (day !== undefined) {
        fromMs = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00Z`) : NaN;
        if (!Number.isFinite(fromMs)) return void res.status(400).type('text').send('day must be YYYY-MM-DD');
        toMs = fromMs + 24 * 3600 * 1000;
      } else {
        toMs = Date.now();
        fromMs = toMs - 24 * 3600 * 1000;
      }
      const segments = camera ? await segmentsOverlapping(index, camera, fromMs, toMs) : [];
      res.type('html').send(renderTimelinePage({ cameras, camera, day, fromMs, toMs, spans: buildSpans(segments) }));
    } catch (e) {
      res.status(503).type('text').send(`cannot read the index: ${(e as Error).message}`);
    }
  });

  app.get('/play', async (req, res) => {
    const camera = req.query.camera;
    const file = typeof req.query.file === 'string' ? validSegmentRel(req.query.file) : undefined;
    if (!validCameraId(camera) || !file || !file.startsWith(`${camera}/`)) return void res.status(400).type('text').send('invalid camera or file');
    try {
      // The following segments of the same span, so playback runs on.
      const next: string[] = [];
      const cur = await index.get(camera, file);
      if (cur) {
        const after = await index.range(camera, cur.startMs + 1, cur.startMs + 6 * 3600 * 1000, 500);
        let end = cur.startMs + cur.durationMs;
        for (const s of after) {
          if (s.startMs - end >= 2000) break;
          next.push(s.file);
          end = s.startMs + s.durationMs;
        }
      }
      res.type('html').send(renderPlayPage({ camera, file, next }));
    } catch (e) {
      res.status(503).type('text').send(`cannot read the index: ${(e as Error).message}`);
    }
  });

  app.get('/export', async (req, res) => {
    try {
      const cameras = await cameraIds();
      const camera = typeof req.query.camera === 'string' && validCameraId(req.query.camera) ? req.query.camera : cameras[0];
      const now = Date.now();
      const fmt = (ms: number) => new Date(ms).toISOString().slice(0, 19);
      res.type('html').send(renderExportPage({ cameras, camera, from: fmt(now - 3600_000), to: fmt(now) }));
    } catch (e) {
      res.status(503).type('text').send(`cannot read the index: ${(e as Error).message}`);
    }
  });

  return app;
}
