/** Process-level settings from the environment (not from the camera config). */
export interface RuntimeSettings {
  /** Undefined when REDIS_URL is not set (then 127.0.0.1:6379, or an embedded redis-server for `npm start`). */
  redisUrl: string | undefined;
  queuePrefix: string;
  boardHost: string;
  boardPort: number;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function readRuntimeSettings(env: NodeJS.ProcessEnv = process.env): RuntimeSettings {
  const prefix = env.RECORDER_QUEUE_PREFIX || 'recorder';
  if (!/^[A-Za-z0-9_{}.-]{1,64}$/.test(prefix)) {
    throw new Error(`RECORDER_QUEUE_PREFIX "${prefix}" must be 1-64 characters of letters, digits, _ - . { }`);
  }
  const portText = env.BOARD_PORT || '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`BOARD_PORT "${portText}" is not a TCP port number`);
  }
  return {
    redisUrl: env.REDIS_URL || undefined,
    queuePrefix: prefix,
    boardHost: env.BOARD_HOST || '127.0.0.1',
    boardPort: port,
  };
}
