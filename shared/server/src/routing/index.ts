export type { SessionRegistry } from './session-registry.js';
export { RedisSessionRegistry, sessionRegistryForDelivery, type RedisSessionRegistryOptions } from './redis-session-registry.js';
export { GatewayEventPublisher, type GatewayDelivery } from './gateway-event-publisher.js';
export { RouteCache, type RouteCacheOptions } from './route-cache.js';
