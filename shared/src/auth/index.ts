export * from './token-verifier.js';
