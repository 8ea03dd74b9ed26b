import { randomBytes } from 'node:crypto';
import { resolveConfigPath, staticConfigSource, type ConfigSource } from '@tapo/config';
import { registerSecrets, type Logger } from '@tapo/log';
import { startSimCamera, type SimCamera } from '@tapo/sim-camera';
import { demoConfig } from './demo-config.js';
import { loadConfigSource } from './load-config.js';

export interface ConfigOrDemo {
  config: ConfigSource;
  /** The simulated camera being recorded (DEMO MODE only). */
  simCamera?: SimCamera;
  /** Stops the simulated camera, if one was started. */
  close(): Promise<void>;
}

/**
 * The config of `npm start`: the cameras file (loadConfigSource) when it
 * exists or one was named (--config, RECORDER_CONFIG). With neither, DEMO
 * MODE: a simulated camera with a random password (registered as a secret, so
 * never logged) and the built-in demo config recording it.
 */
export async function loadConfigOrStartDemo(logger: Logger, argv = process.argv.slice(2)): Promise<ConfigOrDemo> {
  const loc = resolveConfigPath(argv);
  if (loc.exists || loc.explicit) {
    return { config: loadConfigSource(logger, argv), close: async () => {} };
  }
  logger.warn(`no cameras file (${loc.file}): DEMO MODE, recording a SIMULATED camera`);
  logger.warn('to record your cameras: cp cameras.example.yml cameras.yml, edit it, and restart');
  const password = randomBytes(9).toString('base64url');
  registerSecrets(password);
  const simCamera = await startSimCamera({ user: 'demo', password });
  const config = staticConfigSource(demoConfig(simCamera.url('stream1', true)));
  logger.warn(`simulated camera serving on ${simCamera.url('stream1')} (Digest auth); segments go to ${config.get().recordingsDir}`);
  return { config, simCamera, close: () => simCamera.stop() };
}
