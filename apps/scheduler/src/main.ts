// Scheduler: one `record` job per enabled camera, reconciled every few seconds.
import { readRuntimeSettings } from '@tapo/config';
import { createLogger } from '@tapo/log';
import { loadConfigSource, resolveRedis, runMain } from '@tapo/runtime';
import { startScheduler } from '@tapo/scheduler';

const logger = createLogger({ name: 'scheduler' });

await runMain('scheduler', async () => {
  const settings = readRuntimeSettings();
  const config = loadConfigSource(logger);
  const redis = await resolveRedis({ redisUrl: settings.redisUrl, allowEmbedded: false, dataDir: 'data/redis', logger });
  const scheduler = await startScheduler({ redisUrl: redis.url, prefix: settings.queuePrefix, config, logger });
  return async () => {
    await scheduler.close();
  };
});
