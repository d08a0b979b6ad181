import type { Config } from '@chat/server/config';
import type { Logger } from '@chat/server/logger';
import type { WebClientServerOptions } from './web-client-server.js';

/** Development tokens live this long; the SDK refreshes them in band before they expire. */
const DEV_TOKEN_TTL_SECONDS = 3600;

/** The server's options from the env table (WEB_CLIENT_*; JWT_* for development tokens). */
export function webClientOptionsFromConfig(config: Config, log: Logger): WebClientServerOptions {
  const devTokens = config.WEB_CLIENT_DEV_TOKENS && config.NODE_ENV !== 'production' && config.JWT_HS256_SECRET !== '';
  if (config.WEB_CLIENT_DEV_TOKENS && !devTokens) log.warn('WEB_CLIENT_DEV_TOKENS needs JWT_HS256_SECRET; POST /dev/token is off');
  return {
    host: config.WEB_CLIENT_HOST,
    port: config.WEB_CLIENT_PORT,
    gateways: config.WEB_CLIENT_GATEWAY_URLS,
    apiUrl: config.WEB_CLIENT_API_URL,
    log,
    ...(devTokens
      ? { devTokens: { secret: config.JWT_HS256_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: DEV_TOKEN_TTL_SECONDS } }
      : {}),
  };
}
