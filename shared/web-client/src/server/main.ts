import { isOriginAllowed } from '@chat/server/http';
import { loadConfigOrExit } from '@chat/server/config';
import { createLogger } from '@chat/server/logger';
import { onShutdown } from '@chat/server/shutdown';
import { webClientOptionsFromConfig } from './options-from-config.js';
import { startWebClientServer } from './web-client-server.js';

const config = loadConfigOrExit();
const log = createLogger('web-client', config.LOG_LEVEL);
const server = await startWebClientServer(webClientOptionsFromConfig(config, log)).catch((err: Error) => {
  log.fatal({ err }, 'web client server failed to start');
  process.exit(1);
});
// The REST API and the gateways check Origin against the same list: say so early if this page would be refused.
if (!isOriginAllowed(server.url, config.ALLOWED_ORIGINS))
  log.warn({ origin: server.url, allowed: config.ALLOWED_ORIGINS }, 'ALLOWED_ORIGINS does not include this page: the API and gateways will refuse it');
log.info({ url: server.url, gateways: config.WEB_CLIENT_GATEWAY_URLS, api: config.WEB_CLIENT_API_URL }, 'browser chat client listening');

onShutdown(log, [() => server.close()], { deadlineMs: config.SHUTDOWN_DEADLINE_MS });
