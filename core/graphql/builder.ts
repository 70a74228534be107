import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ZodPlugin from '@pothos/plugin-zod';
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { formatIssues } from '../config/format-issues.ts';
import { formatIsoUtc } from '../../packages/plugin-api/src/wire/iso-time.ts';
import type {
  BackplaneSchemaTypes,
  Builder as PluginBuilder,
  CoreSchemaRefs as PluginCoreSchemaRefs,
} from '../../packages/plugin-api/src/graphql.ts';
import type { GraphQLContext } from './context.ts';

/** Core's builder: the plugin contract's {@link PluginBuilder} with the daemon's own context. */
export type Builder = PluginBuilder<GraphQLContext>;

/** {@link PluginCoreSchemaRefs} as core builds them, with the daemon's own context. */
export type CoreSchemaRefs = PluginCoreSchemaRefs<GraphQLContext>;

export function createBuilder(): Builder {
  const builder = new SchemaBuilder<BackplaneSchemaTypes<GraphQLContext>>({
    plugins: [RelayPlugin, ZodPlugin],
    defaultFieldNullability: false,
    relay: {
      clientMutationId: 'omit',
      cursorType: 'String',
      nodeQueryOptions: false,
      nodesQueryOptions: false,
    },
    zod: {
      // Argument validation failures become coded input errors naming every bad argument.
      validationError: (error) =>
        new GraphQLError(`Invalid argument: ${formatIssues(error.issues).join('; ')}`, {
          extensions: { code: 'BAD_USER_INPUT' },
        }),
    },
  });
  builder.addScalarType('DateTime', dateTimeScalar);
  builder.addScalarType('JSON', jsonScalar);
  builder.queryType({ description: 'Read the state of the host and its backends.' });
  builder.mutationType({ description: 'Change the state of the host: start, stop and cancel work.' });
  builder.subscriptionType({ description: 'Live updates: job status, logs, GPU usage.' });
  return builder as unknown as Builder;
}

const dateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An instant as an ISO 8601 string in UTC, e.g. `2025-02-18T12:00:00.000Z`.',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(value as string | number);
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
    // Date#toISOString is slow enough to dominate long lists (see docs/performance.md).
    return formatIsoUtc(date.getTime());
  },
  parseValue(value) {
    return parseDate(value);
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be an ISO 8601 string');
    return parseDate(ast.value);
  },
});

function parseDate(value: unknown): Date {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(value)) throw new GraphQLError('DateTime must be an ISO 8601 string');
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO 8601 string');
  return date;
}

const jsonScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
});
