export * from './request-target.js';
export * from './node-server.js';
export * from './origin-policy.js';
export * from './internal-server.js';
