export * from './request-target.js';
export * from './node-server.js';
