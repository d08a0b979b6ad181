// Prints a development HS256 token: npm run token -- <user-id> [ttl-seconds]
import { mintDevToken } from '../auth/token-verifier.js';
import { loadConfigOrExit } from '../config/index.js';

const [userId, ttl] = process.argv.slice(2);
if (!userId) {
  process.stderr.write('usage: npm run token -- <user-id> [ttl-seconds]\n');
  process.exit(64);
}
const config = loadConfigOrExit();
if (config.JWT_HS256_SECRET === '') {
  process.stderr.write('JWT_HS256_SECRET is empty: dev tokens need the HS256 secret\n');
  process.exit(78);
}
process.stdout.write(
  `${mintDevToken(config.JWT_HS256_SECRET, userId, {
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: ttl ? Number(ttl) : 24 * 3600,
  })}\n`,
);
