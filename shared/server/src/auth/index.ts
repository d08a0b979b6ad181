export * from './token-verifier.js';
export * from './secret-equal.js';
export * from './jwks-key-source.js';
export * from './verifier-from-config.js';
