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
      expect((err as ConfigError).problems).toEqual([
        'KAFKA_BROKERS: "nohost" is not host:port',
        'CHAT_HTTP_PORT: must be an integer, got "eighty"',
      ]);
    }
  });

  it('refuses dev-only secrets in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/INTERNAL_API_TOKEN is required/);
  });
});
