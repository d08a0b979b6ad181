export { startWebClientServer } from './web-client-server.js';
export type { RunningWebClientServer, WebClientServerOptions } from './web-client-server.js';
export type { ClientConfig } from './client-config.js';
export type { DevTokenReply, DevTokenSettings } from './dev-token.js';
export { webClientOptionsFromConfig } from './options-from-config.js';
