export * from './names.js';
export * from './contracts.js';
export * from './redis.js';
export * from './queues.js';
