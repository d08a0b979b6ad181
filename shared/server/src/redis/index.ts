export { RedisKeys } from './keys.js';
export { RedisScript } from './script.js';
