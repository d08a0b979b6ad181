import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import { JwksKeySource } from './jwks-key-source.js';
import { TokenVerifier, loadPublicKeys } from './token-verifier.js';

/** The process's token verifier from JWT_*; with JWT_JWKS_URL its keys are fetched before this resolves (a failure is logged and retried). */
export async function tokenVerifierFromConfig(
  config: Pick<
    Config,
    | 'JWT_ISSUER'
    | 'JWT_AUDIENCE'
    | 'JWT_HS256_SECRET'
    | 'JWT_PUBLIC_KEYS_FILE'
    | 'JWT_JWKS_URL'
    | 'JWT_JWKS_REFRESH_SECONDS'
    | 'JWT_JWKS_UNKNOWN_KID_COOLDOWN_MS'
  >,
  log: Logger,
): Promise<{ verifier: TokenVerifier; close(): void }> {
  const jwks =
    config.JWT_JWKS_URL === ''
      ? undefined
      : new JwksKeySource(
          {
            url: config.JWT_JWKS_URL,
            issuer: config.JWT_ISSUER,
            refreshIntervalMs: config.JWT_JWKS_REFRESH_SECONDS * 1000,
            unknownKidCooldownMs: config.JWT_JWKS_UNKNOWN_KID_COOLDOWN_MS,
          },
          log.child({ component: 'jwks' }),
        );
  await jwks?.start();
  const verifier = new TokenVerifier({
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    hs256Secret: config.JWT_HS256_SECRET,
    publicKeys: loadPublicKeys(config.JWT_PUBLIC_KEYS_FILE),
    ...(jwks ? { jwks } : {}),
  });
  return { verifier, close: () => jwks?.stop() };
}
