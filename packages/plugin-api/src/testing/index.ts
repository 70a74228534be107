/**
 * `@backplane/plugin-api/testing`: a test kit for plugin authors. It boots the real daemon as a
 * process with your plugin configured, and talks to it over HTTP the way clients do.
 * Dependency-free: Node's own modules and `fetch`.
 *
 * @example
 * ```ts
 * import { startTestDaemon } from '@backplane/plugin-api/testing';
 *
 * const bp = await startTestDaemon({ plugins: { hello: { module: 'backplane-plugin-hello', greeting: 'Hi' } } });
 * try {
 *   const { data } = await bp.graphql('{ hello(name: "Ada") }');
 *   const reply = await bp.rest('GET', '/api/hello/Ada');
 * } finally {
 *   await bp.stop();
 * }
 * ```
 * @module
 */
export { startTestDaemon, type StartTestDaemonOptions, type TestDaemon, type GraphQLResult, type RestResult } from './start-test-daemon.ts';
export { locateBackplaneBin } from './locate-backplane.ts';
