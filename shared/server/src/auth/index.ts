export * from './token-verifier.js';
export * from './secret-equal.js';
