export { startEmbeddedRedis, resolveRedis, type EmbeddedRedis } from './embedded-redis.js';
export { runMain, argValue, type ShutdownHandler } from './main.js';
export { loadConfigSource } from './load-config.js';
export { demoConfig } from './demo-config.js';
export { loadConfigOrStartDemo, type ConfigOrDemo } from './demo-mode.js';
export { startWorkerRole, type WorkerRole } from './worker-role.js';
