// `npm start`: scheduler + worker + board in one process, on one machine.
// With no REDIS_URL and nothing on 127.0.0.1:6379 it starts its own redis-server;
// with no cameras file it starts the simulated camera and records that.
import { readRuntimeSettings } from '@tapo/config';
import { boardAuthFromEnv, startBoardServer } from '@tapo/board';
import { createLogger } from '@tapo/log';
import { loadConfigOrStartDemo, resolveRedis, runMain, startWorkerRole } from '@tapo/runtime';
import { startScheduler } from '@tapo/scheduler';

const logger = createLogger({ name: 'recorder' });

await runMain('recorder', async () => {
  const settings = readRuntimeSettings();
  const auth = boardAuthFromEnv();
  const { config, close: stopDemo } = await loadConfigOrStartDemo(logger);
  const redis = await resolveRedis({ redisUrl: settings.redisUrl, allowEmbedded: true, dataDir: 'data/redis', logger });
  const scheduler = await startScheduler({ redisUrl: redis.url, prefix: settings.queuePrefix, config, logger: logger.child({ app: 'scheduler' }) });
  const worker = await startWorkerRole({
    redisUrl: redis.url,
    prefix: settings.queuePrefix,
    getConfig: () => config.get(),
    logger: logger.child({ app: 'worker' }),
  });
  const board = await startBoardServer({
    redisUrl: redis.url,
    prefix: settings.queuePrefix,
    host: settings.boardHost,
    port: settings.boardPort,
    config,
    index: worker.index,
    segments: worker.segments,
    logger: logger.child({ app: 'board' }),
    ...(auth ? { auth } : {}),
  });
  logger.info(`recording ${config.get().cameras.filter((c) => c.enabled).length} camera(s); open ${board.url}/ or ${board.url}/queues`);

  return async (signal) => {
    logger.info(`${signal}: stopping (recordings are finalised and handed back)`);
    await worker.close();
    await scheduler.close();
    await board.close();
    await stopDemo();
    await redis.embedded?.stop();
  };
});
