export { startGateway, type GatewayDeps, type RunningGateway } from './gateway.js';
export { gatewayIdFrom, gatewayOptionsFromConfig, resolveGatewayOptions, type GatewayOptions } from './gateway-options.js';
export { HttpChatServiceClient, type ChatServiceClient, type HttpChatServiceClientOptions } from './backend/chat-service-client.js';
export { UnsupportedPresenceAndTyping, type PresenceAndTyping, type FrameCaller } from './presence/presence-and-typing.js';
export { PromGatewayMetrics, NoopGatewayMetrics, type GatewayMetrics, type MetricsRegistry } from './gateway-metrics.js';
export { assertNativeUws, uwsFallbackProblem } from './transport/uws.js';
export type { AccessTokenVerifier } from './transport/upgrade-handler.js';
