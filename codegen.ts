import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the operations the REST layer and tests run (schema/operations/*.graphql),
 * generated against the committed, printed schema. Output is not committed: `npm run codegen`
 * (also run by `npm run typecheck`) writes it.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['schema/operations/*.graphql'],
  generates: {
    'schema/generated/graphql.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: { useTypeImports: true, enumsAsTypes: true, scalars: { DateTime: 'string', JSON: 'unknown' }, avoidOptionals: { field: true } },
    },
  },
};

export default config;
