import { ConfigError, fileConfigSource, resolveConfigPath, type ConfigSource } from '@tapo/config';
import type { Logger } from '@tapo/log';
import { registerUrlSecrets } from '@tapo/log';

/**
 * Loads the config file named by --config / RECORDER_CONFIG / ./cameras.yml
 * (throws ConfigError when it is missing or bad), registers every camera's
 * credentials for redaction, and follows later edits (a bad edit is logged
 * and the previous config stays in force).
 */
export function loadConfigSource(logger: Logger, argv = process.argv.slice(2)): ConfigSource {
  const loc = resolveConfigPath(argv);
  if (!loc.exists) {
    throw new ConfigError(
      `${loc.file}: config file not found (copy cameras.example.yml to cameras.yml, or pass --config FILE)`,
      loc.file,
    );
  }
  const source = fileConfigSource(loc.file, {
    onError: (e) => logger.error(`config file changed but is invalid; keeping the previous config:\n${e.message}`),
    onReload: (c) => {
      for (const cam of c.cameras) registerUrlSecrets(cam.url);
      logger.info({ cameras: c.cameras.length }, `config reloaded from ${c.file}`);
    },
  });
  for (const cam of source.get().cameras) registerUrlSecrets(cam.url);
  return source;
}
