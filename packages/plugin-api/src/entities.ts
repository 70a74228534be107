/**
 * `@backplane/plugin-api/entities`: MikroORM's entity definitions for a plugin's `entities`,
 * so a plugin needs no direct MikroORM import. A separate entry because it loads
 * `@mikro-orm/core` at run time (an optional peer dependency: the daemon's own copy when the
 * plugin is installed next to backplane).
 *
 * @example
 * ```ts
 * import { defineEntity, p } from '@backplane/plugin-api/entities';
 * export const Greeting = defineEntity({ name: 'HelloGreeting', tableName: 'hello_greetings',
 *   properties: { id: p.integer().primary(), text: p.string() } });
 * ```
 * @module
 */
export { defineEntity, p } from '@mikro-orm/core';
export type { EntityManager, EntitySchema } from '@mikro-orm/core';
