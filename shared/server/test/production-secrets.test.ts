import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const mains = {
  'chat-service': fileURLToPath(new URL('../../../chat-service/dist/main.js', import.meta.url)),
  gateway: fileURLToPath(new URL('../../../gateway/dist/main.js', import.meta.url)),
  'presence-service': fileURLToPath(new URL('../../../presence-service/dist/main.js', import.meta.url)),
};
const strong = 'a-production-secret-of-32-bytes!!';

function start(main: string, env: Record<string, string>): { status: number | null; stderr: string } {
  const res = spawnSync(process.execPath, [main], { env: { ...process.env, NODE_ENV: 'production', ...env }, encoding: 'utf8', timeout: 20_000 });
  return { status: res.status, stderr: res.stderr };
}

describe('production secrets', () => {
  for (const [service, main] of Object.entries(mains)) {
    it(`item 12: ${service} refuses the development secrets and short ones with exit 78, naming the variable`, () => {
      const devToken = start(main, { INTERNAL_API_TOKEN: 'dev-internal-token', JWT_HS256_SECRET: strong });
      expect(devToken.status).toBe(78);
      expect(devToken.stderr).toContain('INTERNAL_API_TOKEN: is a known development value');

      const devJwt = start(main, { INTERNAL_API_TOKEN: strong, JWT_HS256_SECRET: 'dev-secret-change-me' });
      expect(devJwt.status).toBe(78);
      expect(devJwt.stderr).toContain('JWT_HS256_SECRET: is a known development value');

      const short = start(main, { INTERNAL_API_TOKEN: 'sixteen-bytes-ok', JWT_HS256_SECRET: strong });
      expect(short.status).toBe(78);
      expect(short.stderr).toContain('INTERNAL_API_TOKEN: must be at least 32 bytes in production');
    });
  }
});
