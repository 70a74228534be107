import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the operations the REST layer, the `backplane` client commands (cli/ and
 * each plugin's `cli.graphql`) and tests run (each owner's
 * `operations.graphql`: core's jobs and every built-in plugin's), generated
 * against the committed, printed schema into schema/generated/. Output is not committed:
 * `npm run codegen` (also run by `npm run typecheck`) writes it.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['core/**/operations.graphql', 'plugins/*/operations.graphql', 'cli/operations.graphql', 'plugins/*/cli.graphql', 'dashboard/src/operations.graphql'],
  generates: {
    'schema/generated/graphql.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: { useTypeImports: true, enumsAsTypes: true, scalars: { DateTime: 'string', JSON: 'unknown' }, avoidOptionals: { field: true } },
    },
  },
};

export default config;
