import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load-config.js';

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const config = loadConfig({});
    expect(config.CHAT_HTTP_PORT).toBe(8080);
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:19092']);
  });

  it('fails fast naming every bad variable', () => {
    expect(() => loadConfig({ CHAT_HTTP_PORT: 'eighty', KAFKA_BROKERS: 'nohost' })).toThrowError(ConfigError);
    try {
      loadConfig({ CHAT_HTTP_PORT: 'eighty', KAFKA_BROKERS: 'nohost' });
    } catch (err) {
      expect((err as ConfigError).problems).toEqual(['KAFKA_BROKERS: "nohost" is not host:port', 'CHAT_HTTP_PORT: must be an integer, got "eighty"']);
    }
  });

  it('refuses dev-only secrets in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/INTERNAL_API_TOKEN is required/);
  });

  it('item 12: production refuses known development secrets and short ones, naming the variable', () => {
    const strong = 'x'.repeat(32);
    const base = { NODE_ENV: 'production', INTERNAL_API_TOKEN: strong, JWT_HS256_SECRET: strong };
    expect(loadConfig(base).INTERNAL_API_TOKEN).toBe(strong);
    const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problemsOf({ ...base, INTERNAL_API_TOKEN: 'dev-internal-token' })).toEqual([
      expect.stringMatching(/^INTERNAL_API_TOKEN: is a known development value/),
    ]);
    expect(problemsOf({ ...base, JWT_HS256_SECRET: 'dev-secret-change-me' })).toEqual([
      expect.stringMatching(/^JWT_HS256_SECRET: is a known development value/),
    ]);
    expect(problemsOf({ ...base, INTERNAL_API_TOKEN: 'x'.repeat(31) })).toEqual(['INTERNAL_API_TOKEN: must be at least 32 bytes in production']);
    expect(problemsOf({ ...base, JWT_HS256_SECRET: 'short' })).toEqual(['JWT_HS256_SECRET: must be at least 32 bytes in production']);
    expect(problemsOf({ ...base, S3_ACCESS_KEY_ID: 'key', S3_SECRET_ACCESS_KEY: 'chat-local-secret-not-for-production' })).toEqual([
      expect.stringMatching(/^S3_SECRET_ACCESS_KEY: is a known development value/),
    ]);
    expect(problemsOf({ ...base, S3_ACCESS_KEY_ID: 'key' })).toEqual([expect.stringMatching(/^S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: set both/)]);
    // Development keeps its defaults, the local S3Proxy's included.
    expect(loadConfig({}).INTERNAL_API_TOKEN).toBe('dev-internal-token');
    expect(loadConfig({})).toMatchObject({ S3_ENDPOINT: 'http://127.0.0.1:19000', S3_ACCESS_KEY_ID: 'chat-local-access', S3_FORCE_PATH_STYLE: true });
    expect(loadConfig(base)).toMatchObject({ S3_ENDPOINT: '', S3_ACCESS_KEY_ID: '', S3_FORCE_PATH_STYLE: false });
  });

  it("production refuses the browser client's development tokens; development serves them by default", () => {
    const strong = 'x'.repeat(32);
    const base = { NODE_ENV: 'production', INTERNAL_API_TOKEN: strong, JWT_HS256_SECRET: strong };
    expect(loadConfig(base).WEB_CLIENT_DEV_TOKENS).toBe(false);
    expect(() => loadConfig({ ...base, WEB_CLIENT_DEV_TOKENS: 'true' })).toThrow(/WEB_CLIENT_DEV_TOKENS: development tokens are refused in production/);
    expect(loadConfig({}).WEB_CLIENT_DEV_TOKENS).toBe(true);
    expect(loadConfig({ WEB_CLIENT_GATEWAY_URLS: 'ws://a:1/ws, wss://b/ws' }).WEB_CLIENT_GATEWAY_URLS).toEqual(['ws://a:1/ws', 'wss://b/ws']);
    expect(() => loadConfig({ WEB_CLIENT_GATEWAY_URLS: 'http://a/ws' })).toThrow(/WEB_CLIENT_GATEWAY_URLS: must use ws: or wss:/);
  });
});
