export { startGateway, type GatewayDeps, type RunningGateway } from './gateway.js';
export { gatewayIdFrom, gatewayOptionsFromConfig, resolveGatewayOptions, type GatewayOptions } from './gateway-options.js';
export { HttpChatServiceClient, type ChatServiceClient, type HttpChatServiceClientOptions } from './chat-service-client.js';
export { UnsupportedPresenceAndTyping, type PresenceAndTyping, type FrameCaller } from './presence-and-typing.js';
export { PromGatewayMetrics, NoopGatewayMetrics, type GatewayMetrics, type MetricsRegistry } from './gateway-metrics.js';
export { assertNativeUws, uwsFallbackProblem } from './uws.js';
export type { AccessTokenVerifier } from './upgrade-handler.js';
