export * from './config/index.js';
export * from './logger.js';
export * from './metrics.js';
export * from './errors.js';
export * from './ids.js';
export * from './kafka-topics.js';
export * from './clients/index.js';
