import { defineConfig } from 'vitest/config';

/**
 * Fault tests against the replicated profile (`npm run test:replicated` starts it, runs these and
 * stops it). Not part of `npm test`: they need 3 Kafka brokers, 3 Cassandra nodes and Sentinel.
 */
export default defineConfig({
  test: {
    name: 'replicated',
    include: ['**/test/replicated/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    environment: 'node',
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // One file at a time: each test kills and restarts nodes of the one shared cluster.
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
  },
});
