import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/** Every workspace package, as the root package.json lists them. */
const workspaces: string[] = JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8')).workspaces;
const packages = `{${workspaces.join(',')}}`;

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [`${packages}/src/**/*.test.ts`],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: [`${packages}/test/**/*.test.ts`],
          // The replicated profile's fault tests run separately (vitest.replicated.config.ts).
          exclude: ['**/node_modules/**', '**/dist/**', '**/test/replicated/**'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Integration files share real infrastructure; each isolates itself by prefix/topic/keyspace,
          // and they run one file at a time so timings on 2 cores stay predictable.
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
