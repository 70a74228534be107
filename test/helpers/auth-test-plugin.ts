import { definePlugin, z } from '../../core/plugin-api.ts';

/**
 * Legacy routes for auth, rate-limit and proxy tests, on the `llamactl` profile under `/t`
 * (`{"error", "details"}` errors): login and refresh (public), whoami, a heavy route, an
 * unlimited one, and a streaming proxy to `plugins.auth-test.upstream`.
 */
export const authTestPlugin = definePlugin({
  id: 'auth-test',
  version: '1.0.0',
  configSchema: z.object({ upstream: z.string().default('http://127.0.0.1:9'), deadUpstream: z.string().default('http://127.0.0.1:9') }),
  init: ({ config }) => config,
  operations: [
    `mutation AuthTestLogin($name: String!, $password: String!) { login(name: $name, password: $password) { accessToken refreshToken expiresAt scopes } }
     mutation AuthTestRefresh($token: String!) { refreshToken(token: $token) { accessToken refreshToken expiresAt scopes } }
     query AuthTestWhoami { viewer { principal scopes } }
     query AuthTestUpstream { authTestUpstream }
     query AuthTestDeadUpstream { authTestDeadUpstream }`,
  ],
  schema(builder, { api }) {
    builder.queryField('authTestUpstream', (t) => t.string({ resolve: (_root, _args, ctx) => (api(ctx) as { upstream: string }).upstream }));
    builder.queryField('authTestDeadUpstream', (t) => t.string({ resolve: (_root, _args, ctx) => (api(ctx) as { deadUpstream: string }).deadUpstream }));
  },
  rest(routes) {
    const tokens = (data: { login?: unknown; refreshToken?: unknown }) => ({ json: data.login ?? data.refreshToken });
    routes.add({ profile: 'llamactl', method: 'POST', path: '/t/auth/login', operation: 'AuthTestLogin', variables: { name: 'body.username', password: 'body.password' }, rateLimit: 'heavy', reply: tokens });
    routes.add({ profile: 'llamactl', method: 'POST', path: '/t/auth/refresh', operation: 'AuthTestRefresh', variables: { token: 'body.refresh_token' }, reply: tokens });
    routes.add({ profile: 'llamactl', method: 'GET', path: '/t/whoami', operation: 'AuthTestWhoami', reply: (data: { viewer: unknown }) => ({ json: data.viewer }) });
    routes.add({ profile: 'llamactl', method: 'POST', path: '/t/heavy', operation: 'AuthTestWhoami', body: 'json-optional', rateLimit: 'heavy', reply: (data: { viewer: unknown }) => ({ json: data.viewer }) });
    routes.add({ profile: 'llamactl', method: 'GET', path: '/t/free', operation: 'AuthTestWhoami', rateLimit: 'none', reply: (data: { viewer: unknown }) => ({ json: data.viewer }) });
    for (const method of ['GET', 'POST'] as const) {
      routes.add({
        profile: 'llamactl',
        method,
        path: '/t/proxy/{rest*}',
        operation: 'AuthTestUpstream',
        body: 'stream',
        rateLimit: 'none',
        reply: (data: { authTestUpstream: string }, request) => ({ proxy: { url: `${data.authTestUpstream}/${request.params.rest}${request.query.size > 0 ? `?${request.query}` : ''}`, headers: { 'x-upstream-key': 'backend-secret' } } }),
      });
    }
    routes.add({ profile: 'llamactl', method: 'GET', path: '/t/dead', operation: 'AuthTestDeadUpstream', reply: (data: { authTestDeadUpstream: string }) => ({ proxy: { url: data.authTestDeadUpstream } }) });
    // The same upstream, with the body read first (as the OpenAI router reads `model`).
    routes.add({
      profile: 'llamactl',
      method: 'POST',
      path: '/t/buffered/{rest*}',
      operation: 'AuthTestUpstream',
      body: 'json',
      reply: (data: { authTestUpstream: string }, request) => ({ proxy: { url: `${data.authTestUpstream}/${request.params.rest}`, timeoutMs: 2_000 } }),
    });
  },
});
