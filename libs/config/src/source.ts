import { statSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { loadConfigFile } from './load.js';
import type { RecorderConfig } from './schema.js';

export interface ConfigSource {
  /** The current config: re-read when the file changed; the last good one while the file is invalid. */
  get(): RecorderConfig;
  /** The problem with the file on disk, when it has one. */
  readonly lastError: ConfigError | undefined;
}

/**
 * A config that follows its file. The first load throws (the process must not
 * start on a bad file); later bad edits are reported once through `onError`
 * and the previous config stays in force, so recording never stops for a typo.
 */
export function fileConfigSource(
  file: string,
  opts: { env?: NodeJS.ProcessEnv; onError?(e: ConfigError): void; onReload?(c: RecorderConfig): void; minCheckIntervalMs?: number } = {},
): ConfigSource {
  const env = opts.env ?? process.env;
  let current = loadConfigFile(file, env);
  let mtime = statSync(file).mtimeMs;
  let lastCheck = Date.now();
  let lastError: ConfigError | undefined;
  const interval = opts.minCheckIntervalMs ?? 1000;
  return {
    get lastError() {
      return lastError;
    },
    get(): RecorderConfig {
      const now = Date.now();
      if (now - lastCheck < interval) return current;
      lastCheck = now;
      let m: number;
      try {
        m = statSync(file).mtimeMs;
      } catch {
        return current;
      }
      if (m === mtime) return current;
      mtime = m;
      try {
        current = loadConfigFile(file, env);
        lastError = undefined;
        opts.onReload?.(current);
      } catch (e) {
        const err = e instanceof ConfigError ? e : new ConfigError(String(e), file);
        lastError = err;
        opts.onError?.(err);
      }
      return current;
    },
  };
}

/** A fixed config (built-in demo, tests). */
export function staticConfigSource(config: RecorderConfig): ConfigSource {
  return { get: () => config, lastError: undefined };
}
