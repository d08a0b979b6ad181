export { ENV_TABLE, type Config, type EnvName } from './env-table.js';
export { ConfigError, loadConfig, loadConfigOrExit, loadConfigVars } from './load-config.js';
export { envDefault } from './env-default.js';
export type { RateLimit } from './parsers.js';
