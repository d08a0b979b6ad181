/** Wires between the services (never seen by clients): imported by servers only, never by the SDK. */
export * from './chat-service-api.js';
export * from './sequenced-record.js';
