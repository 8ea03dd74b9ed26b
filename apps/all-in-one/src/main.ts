// `npm start`: scheduler + worker + board in one process, on one machine.
// With no REDIS_URL and nothing on 127.0.0.1:6379 it starts its own redis-server;
// with no cameras file it starts the simulated camera and records that.
import { randomBytes } from 'node:crypto';
import { readRuntimeSettings, resolveConfigPath, staticConfigSource, type ConfigSource } from '@tapo/config';
import { boardAuthFromEnv, startBoardServer } from '@tapo/board';
import { createLogger, registerSecrets } from '@tapo/log';
import { demoConfig, loadConfigSource, resolveRedis, runMain, startWorkerRole } from '@tapo/runtime';
import { startScheduler } from '@tapo/scheduler';
import { startSimCamera, type SimCamera } from '@tapo/sim-camera';

const logger = createLogger({ name: 'recorder' });

await runMain('recorder', async () => {
  const settings = readRuntimeSettings();
  const auth = boardAuthFromEnv();
  const loc = resolveConfigPath();
  let config: ConfigSource;
  let sim: SimCamera | undefined;
  if (loc.exists || loc.explicit) {
    config = loadConfigSource(logger);
  } else {
    logger.warn(`no cameras file (${loc.file}): DEMO MODE, recording a SIMULATED camera`);
    logger.warn('to record your cameras: cp cameras.example.yml cameras.yml, edit it, and restart');
    const password = randomBytes(9).toString('base64url');
    registerSecrets(password);
    sim = await startSimCamera({ user: 'demo', password });
    config = staticConfigSource(demoConfig(sim.url('stream1', true)));
    logger.warn(`simulated camera serving on ${sim.url('stream1')} (Digest auth); segments go to ${config.get().recordingsDir}`);
  }
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
    logger: logger.child({ app: 'board' }),
    ...(auth ? { auth } : {}),
  });
  logger.info(`recording ${config.get().cameras.filter((c) => c.enabled).length} camera(s); open ${board.url}/ or ${board.url}/queues`);

  return async (signal) => {
    logger.info(`${signal}: stopping (recordings are finalised and handed back)`);
    await worker.close();
    await scheduler.close();
    await board.close();
    await sim?.stop();
    await redis.embedded?.stop();
  };
});
