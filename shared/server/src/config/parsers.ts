/** A parser turns one raw environment string into a typed value or throws with a reason. */
export type Parser<T> = (raw: string) => T;

export function str(): Parser<string> {
  return (raw) => {
    if (raw.trim() === '') throw new Error('must not be empty');
    return raw.trim();
  };
}

export function int(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Parser<number> {
  return (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be an integer, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max) throw new Error(`must be between ${min} and ${max}, got ${value}`);
    return value;
  };
}

export function port(): Parser<number> {
  return int(0, 65535);
}

export function bool(): Parser<boolean> {
  return (raw) => {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new Error(`must be true or false, got "${raw}"`);
  };
}

export function list(): Parser<string[]> {
  return (raw) =>
    raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
}

export function url(protocols: readonly string[]): Parser<string> {
  return (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw.trim());
    } catch {
      throw new Error(`must be a URL, got "${raw}"`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new Error(`must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
    }
    return raw.trim();
  };
}

/** A comma-separated list of at least one URL, each with one of `protocols`. */
export function urls(protocols: readonly string[]): Parser<string[]> {
  return (raw) => {
    const items = optUrls(protocols)(raw);
    if (items.length === 0) throw new Error('must list at least one URL');
    return items;
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Parser<T> {
  return (raw) => {
    const v = raw.trim() as T;
    if (!values.includes(v)) throw new Error(`must be one of ${values.join(', ')}, got "${raw}"`);
    return v;
  };
}

/** host:port pairs, e.g. Kafka brokers or Cassandra contact points. */
export function hostPorts(): Parser<string[]> {
  return (raw) => {
    const items = list()(raw);
    if (items.length === 0) throw new Error('must list at least one host:port');
    for (const item of items) {
      const m = /^(.+):(\d+)$/.exec(item);
      if (!m || Number(m[2]) > 65535) throw new Error(`"${item}" is not host:port`);
    }
    return items;
  };
}

/** host:port pairs that may be empty (meaning "not set"). */
export function optHostPorts(): Parser<string[]> {
  return (raw) => (raw.trim() === '' ? [] : hostPorts()(raw));
}

/** Comma-separated URLs of the given protocols, in order; may be empty (meaning "not set"). */
export function optUrls(protocols: readonly string[]): Parser<string[]> {
  return (raw) => list()(raw).map((item) => url(protocols)(item));
}

/** A string that may be empty (meaning "not set"). */
export function optStr(): Parser<string> {
  return (raw) => raw.trim();
}

/** A non-empty comma-separated subset of `values`. */
export function subsetOf<const T extends string>(values: readonly T[]): Parser<T[]> {
  return (raw) => {
    const items = list()(raw);
    if (items.length === 0) throw new Error(`must list at least one of ${values.join(', ')}`);
    for (const item of items) if (!values.includes(item as T)) throw new Error(`"${item}" is not one of ${values.join(', ')}`);
    return [...new Set(items)] as T[];
  };
}

/** A rate limit: at most `points` per fixed window of `durationSeconds`. */
export interface RateLimit {
  points: number;
  durationSeconds: number;
}

/** `<points>/<seconds>s`, e.g. `500/10s`: at most 500 per 10-second window. */
export function rate(): Parser<RateLimit> {
  return (raw) => {
    const m = /^(\d{1,9})\/(\d{1,6})s$/.exec(raw.trim());
    if (!m) throw new Error(`must look like "<points>/<seconds>s" (e.g. "500/10s"), got "${raw}"`);
    const points = Number(m[1]);
    const durationSeconds = Number(m[2]);
    if (points < 1) throw new Error('points must be at least 1');
    if (durationSeconds < 1 || durationSeconds > 86_400) throw new Error('the window must be 1 to 86400 seconds');
    return { points, durationSeconds };
  };
}
