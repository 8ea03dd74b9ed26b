// Worker: records the cameras whose record jobs it takes (up to `concurrency`).
import { readRuntimeSettings } from '@tapo/config';
import { createLogger } from '@tapo/log';
import { loadConfigSource, resolveRedis, runMain, startWorkerRole } from '@tapo/runtime';

const logger = createLogger({ name: 'worker' });

await runMain('worker', async () => {
  const settings = readRuntimeSettings();
  const config = loadConfigSource(logger);
  const redis = await resolveRedis({ redisUrl: settings.redisUrl, allowEmbedded: false, dataDir: 'data/redis', logger });
  const worker = await startWorkerRole({
    redisUrl: redis.url,
    prefix: settings.queuePrefix,
    getConfig: () => config.get(),
    logger,
  });
  return async () => {
    await worker.close();
  };
});
