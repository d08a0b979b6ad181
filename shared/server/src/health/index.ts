export * from './readiness.js';
export * from './dependency-checks.js';
export * from './node-health.js';
export * from './live-heap.js';
