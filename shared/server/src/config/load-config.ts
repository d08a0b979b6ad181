import { ENV_TABLE, type Config, type EnvName } from './env-table.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Dev-only defaults that production must override explicitly. */
const DEV_DEFAULTS: Partial<Record<EnvName, string>> = {
  INTERNAL_API_TOKEN: 'dev-internal-token',
  JWT_HS256_SECRET: 'dev-secret-change-me',
  // The local S3Proxy's identity (deploy/src/local/config.ts).
  S3_ACCESS_KEY_ID: 'chat-local-access',
  S3_SECRET_ACCESS_KEY: 'chat-local-secret-not-for-production',
};

/** Shortest secret production accepts (bytes): 256 bits. */
const MIN_SECRET_BYTES = 32;

/**
 * Production refuses, even when set explicitly, a secret that is a known development value or
 * shorter than MIN_SECRET_BYTES. An empty JWT_HS256_SECRET (HS256 disabled) is fine.
 */
function secretProblems(out: Record<string, unknown>): string[] {
  const known = new Set(Object.values(DEV_DEFAULTS));
  const problems: string[] = [];
  for (const name of ['INTERNAL_API_TOKEN', 'JWT_HS256_SECRET'] as const) {
    const value = out[name];
    if (typeof value !== 'string' || value === '') continue;
    if (known.has(value)) problems.push(`${name}: is a known development value; production needs a secret of its own`);
    else if (Buffer.byteLength(value, 'utf8') < MIN_SECRET_BYTES) problems.push(`${name}: must be at least ${MIN_SECRET_BYTES} bytes in production`);
  }
  // The store's own key is as long as its operator chose; only the development one is refused.
  if (out.S3_SECRET_ACCESS_KEY === DEV_DEFAULTS.S3_SECRET_ACCESS_KEY)
    problems.push('S3_SECRET_ACCESS_KEY: is a known development value; production needs a key of its own');
  if ((out.S3_ACCESS_KEY_ID === '') !== (out.S3_SECRET_ACCESS_KEY === ''))
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: set both, or neither (the default credential chain)');
  return problems;
}

function rawValue(name: EnvName, env: NodeJS.ProcessEnv, production: boolean): string | undefined {
  const spec: { default: string | undefined; localDefault?: string } = ENV_TABLE[name];
  return env[name] ?? (production ? undefined : (DEV_DEFAULTS[name] ?? spec.localDefault)) ?? spec.default;
}

/**
 * Parses only `names` with the same defaults as loadConfig, for tools that need a few variables
 * (e.g. the topic tooling) and must not require the services' secrets. Throws ConfigError.
 */
export function loadConfigVars<K extends EnvName>(names: readonly K[], env: NodeJS.ProcessEnv = process.env): Pick<Config, K> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const raw = rawValue(name, env, env.NODE_ENV === 'production');
    if (raw === undefined) {
      problems.push(`${name} is required (${ENV_TABLE[name].description})`);
      continue;
    }
    try {
      out[name] = ENV_TABLE[name].parse(raw);
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Pick<Config, K>;
}

/**
 * Parses every variable of ENV_TABLE once. All problems are collected and thrown together,
 * each naming its variable, so a misconfigured process fails at start with one clear message.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  const production = env.NODE_ENV === 'production';
  for (const [name, spec] of Object.entries(ENV_TABLE) as [EnvName, (typeof ENV_TABLE)[EnvName]][]) {
    const raw = rawValue(name, env, production);
    if (raw === undefined) {
      problems.push(`${name} is required (${spec.description})`);
      continue;
    }
    try {
      out[name] = spec.parse(raw);
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
    }
  }
  if (problems.length === 0 && out.JWT_HS256_SECRET === '' && out.JWT_PUBLIC_KEYS_FILE === '' && out.JWT_JWKS_URL === '') {
    problems.push('JWT_HS256_SECRET, JWT_PUBLIC_KEYS_FILE or JWT_JWKS_URL must be set');
  }
  if (production) problems.push(...secretProblems(out));
  // Whoever reaches POST /dev/token may sign in as anyone.
  if (production && out.WEB_CLIENT_DEV_TOKENS === true) problems.push('WEB_CLIENT_DEV_TOKENS: development tokens are refused in production');
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Config;
}

/** For a main.ts: load config or print the problem and exit with code 78 (EX_CONFIG). */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}
