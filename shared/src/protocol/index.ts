export * from './frames.js';
export * from './parse-client-frame.js';
export * from './validate.js';
export * from './internal-api.js';
export * from './canonical-id.js';
