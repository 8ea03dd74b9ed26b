// Board: Bull Board at /queues, status page at /, JSON API under /api.
import { existsSync } from 'node:fs';
import { readRuntimeSettings, resolveConfigPath } from '@tapo/config';
import { boardAuthFromEnv, startBoardServer } from '@tapo/board';
import { createLogger } from '@tapo/log';
import { loadConfigSource, resolveRedis, runMain } from '@tapo/runtime';

const logger = createLogger({ name: 'board' });

await runMain('board', async () => {
  const settings = readRuntimeSettings();
  const auth = boardAuthFromEnv();
  // The board works without the cameras file (it then lists cameras from the queue).
  const loc = resolveConfigPath();
  const config = loc.exists || loc.explicit ? loadConfigSource(logger) : undefined;
  if (!config && !existsSync(loc.file)) logger.info('no cameras file: listing cameras from the queue');
  const redis = await resolveRedis({ redisUrl: settings.redisUrl, allowEmbedded: false, dataDir: 'data/redis', logger });
  const board = await startBoardServer({
    redisUrl: redis.url,
    prefix: settings.queuePrefix,
    host: settings.boardHost,
    port: settings.boardPort,
    logger,
    ...(config ? { config } : {}),
    ...(auth ? { auth } : {}),
  });
  return async () => {
    await board.close();
  };
});
