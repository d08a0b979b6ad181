export * from './snowflake.js';
export * from './worker-id.js';
