import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { ConfigSource } from '@tapo/config';
import type { Logger } from '@tapo/log';
import type { MaintenanceQueue, RecordQueue, RepairQueue } from '@tapo/queues';
import { basicAuth, type BoardAuth } from './auth.js';
import { listCameraStatus } from './cameras-api.js';
import { renderStatusPage } from './status-page.js';

export interface BoardAppOptions {
  recordQueue: RecordQueue;
  repairQueue?: RepairQueue;
  maintenanceQueue?: MaintenanceQueue;
  redis: Redis;
  prefix: string;
  config?: ConfigSource;
  auth?: BoardAuth;
  logger: Logger;
}

/**
 * The board: Bull Board at /queues (the record queue read-only: a click must
 * not start a second recorder), a status page at /, and a JSON API under /api.
 */
export function createBoardApp(opts: BoardAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  if (opts.auth) app.use(basicAuth(opts.auth));

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
    ],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'tapo-recorder' } },
  });
  app.use('/queues', serverAdapter.getRouter());

  app.get('/api/health', async (_req, res) => {
    try {
      await opts.redis.ping();
      res.json({ ok: true, redis: 'up' });
    } catch (e) {
      res.status(503).json({ ok: false, redis: 'down', error: (e as Error).message });
    }
  });

  app.get('/api/cameras', async (_req, res) => {
    try {
      const cameras = await listCameraStatus(opts.recordQueue, opts.redis, opts.prefix, opts.config?.get());
      res.json({ cameras, generatedAt: new Date().toISOString() });
    } catch (e) {
      opts.logger.warn({ err: e }, 'GET /api/cameras failed');
      res.status(503).json({ error: `cannot read the queue: ${(e as Error).message}` });
    }
  });

  app.get('/', async (_req, res) => {
    try {
      const cameras = await listCameraStatus(opts.recordQueue, opts.redis, opts.prefix, opts.config?.get());
      res.type('html').send(renderStatusPage(cameras));
    } catch (e) {
      res.status(503).type('text').send(`cannot read the queue: ${(e as Error).message}`);
    }
  });

  return app;
}
