import { ENV_TABLE, type Config, type EnvName } from './env-table.js';

/**
 * The env table's default of `name`, parsed: the one source of the default of every component
 * option that a variable sets, so a component built without config (a test, a tool) behaves as a
 * process started with the variable unset (outside production: its local default).
 */
export function envDefault<K extends EnvName>(name: K): Config[K] {
  const spec: { default: string | undefined; localDefault?: string; parse: (raw: string) => unknown } = ENV_TABLE[name];
  const raw = spec.default ?? spec.localDefault;
  if (raw === undefined) throw new Error(`${name} has no default`);
  return spec.parse(raw) as Config[K];
}
