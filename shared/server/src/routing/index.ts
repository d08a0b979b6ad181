export type { SessionRegistry } from './session-registry.js';
export { RedisSessionRegistry, type RedisSessionRegistryOptions } from './redis-session-registry.js';
