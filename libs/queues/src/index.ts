export * from './names.js';
export * from './contracts.js';
export * from './redis.js';
export * from './queues.js';
export * from './replicate-contract.js';
export * from './export-contract.js';
export * from './notify-contract.js';
