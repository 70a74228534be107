/**
 * The in-repo entry of the plugin contract, for the built-in plugins: the source of
 * `@backplane/plugin-api` (packages/plugin-api) re-exported, plus MikroORM's entity helpers
 * (its `./entities` entry), so `npm start` runs from source with no build step. Third-party
 * plugins import `@backplane/plugin-api` instead.
 *
 * @see docs/plugins.md
 * @packageDocumentation
 */
export * from '../packages/plugin-api/src/index.ts';
export { defineEntity, p } from '../packages/plugin-api/src/entities.ts';
