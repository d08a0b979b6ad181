/**
 * Wires between the services (never seen by clients): imported by servers only, never by the SDK.
 * One file per transport: HTTP APIs, events on Redis pub/sub, Kafka records.
 */
export * from './chat-service-http.js';
export * from './presence-service-http.js';
export * from './redis-events.js';
export * from './kafka-records.js';
export * from './sequenced-record.js';
