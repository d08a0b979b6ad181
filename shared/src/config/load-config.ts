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
};

/**
 * Parses every variable of ENV_TABLE once. All problems are collected and thrown together,
 * each naming its variable, so a misconfigured process fails at start with one clear message.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  const production = env.NODE_ENV === 'production';
  for (const [name, spec] of Object.entries(ENV_TABLE) as [EnvName, (typeof ENV_TABLE)[EnvName]][]) {
    const raw = env[name] ?? (production ? undefined : DEV_DEFAULTS[name]) ?? spec.default;
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
  if (problems.length === 0 && out.JWT_HS256_SECRET === '' && out.JWT_PUBLIC_KEYS_FILE === '') {
    problems.push('JWT_HS256_SECRET or JWT_PUBLIC_KEYS_FILE must be set');
  }
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
