import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Vite would otherwise load graphql's ESM/dev build while Pothos loads the CJS one: two realms.
const graphqlEntry = createRequire(import.meta.url).resolve('graphql');
// The plugin contract from source, as the kernel's resolve hook gives it to plugins that do not install it.
const contract = (entry: string) => fileURLToPath(new URL(`./packages/plugin-api/src/${entry}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^graphql$/, replacement: graphqlEntry },
      { find: /^@backplane\/plugin-api$/, replacement: contract('index.ts') },
      { find: /^@backplane\/plugin-api\/entities$/, replacement: contract('entities.ts') },
      { find: /^@backplane\/plugin-api\/testing$/, replacement: contract('testing/index.ts') },
    ],
  },
  test: {
    include: ['core/**/*.test.ts', 'plugins/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
