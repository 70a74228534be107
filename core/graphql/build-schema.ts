import { assertValidSchema, type GraphQLSchema } from 'graphql';
import { describeError, KernelError } from '../errors.ts';
import type { Builder as PluginBuilder, CoreSchemaRefs as PluginCoreSchemaRefs, PluginDefinition } from '../plugin-api.ts';
import { createBuilder, type Builder, type CoreSchemaRefs } from './builder.ts';
import { addCoreSchema } from './core-schema.ts';

/** A piece of core's own schema (jobs, …); it may hand out types plugins can use. */
export type CoreSchemaModule = (builder: Builder) => Partial<CoreSchemaRefs> | void;

/**
 * Builds the one schema from core's modules and every plugin's `schema` hook. Pure: it needs no
 * backend, so `schema:print` and codegen run anywhere.
 */
export function buildSchema(plugins: readonly PluginDefinition[], coreModules: readonly CoreSchemaModule[] = []): GraphQLSchema {
  const builder = createBuilder();
  addCoreSchema(builder);
  let refs: Partial<CoreSchemaRefs> = {};
  for (const addModule of coreModules) refs = { ...refs, ...(addModule(builder) ?? {}) };
  for (const def of plugins) {
    try {
      // Plugins see the contract's builder: the same one, typed with the plugin-facing part of the context.
      def.schema?.(builder as unknown as PluginBuilder, { pluginId: def.id, api: (ctx) => ctx.plugins.get(def.id) as never, refs: refs as unknown as PluginCoreSchemaRefs });
    } catch (error) {
      throw new KernelError('BP_ERR_SCHEMA', `plugin '${def.id}' schema: ${describeError(error)}`, { cause: error });
    }
  }
  try {
    const schema = builder.toSchema({ sortSchema: true });
    assertValidSchema(schema);
    return schema;
  } catch (error) {
    throw new KernelError('BP_ERR_SCHEMA', describeError(error), { cause: error });
  }
}
