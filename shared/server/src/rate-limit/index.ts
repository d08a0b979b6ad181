export type { InstantRateLimiter, RateLimiter } from './rate-limiter.js';
export { BatchedRedisRateLimiter, type BatchedRedisRateLimiterOptions } from './batched-redis-rate-limiter.js';
export { RedisRateLimiter, type RedisRateLimiterOptions } from './redis-rate-limiter.js';
export { addressKey } from './address-key.js';
export { LocalRateLimiter, MemoryRateLimiter } from './memory-rate-limiters.js';
