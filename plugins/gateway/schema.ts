import { NotFoundError, requireScope, z, type Builder, type GraphQLContext, type ModelEndpoint, type SchemaHelpers } from '../../core/plugin-api.ts';
import type { GatewayApi } from './plugin-init.ts';
import { callPath, publicPath } from './route-paths.ts';
import type { AppTraffic } from './traffic.ts';
import type { GatewayApp, GatewayConsumer, GatewayRoute } from './types.ts';

const admin = requireScope('admin');
const name = z.string().min(1, 'expected a name').max(64, 'expected at most 64 characters');
const model = z.string().min(1, 'expected a model').max(256, 'expected at most 256 characters');

/**
 * The gateway's GraphQL: apps (`GatewayApp`) with their routes and consumers, the published
 * model endpoints they may route to, traffic per app (a query and a per-second subscription).
 * Changes are `admin`: they hand out access to models. Pure: no I/O here.
 */
export function addGatewaySchema(builder: Builder, { api }: SchemaHelpers<GatewayApi>): void {
  const appOf = (ctx: GraphQLContext, app: string): Pick<GatewayApp, 'prefix'> => api(ctx).store.find(app) ?? { prefix: `/gateway/${app}` };
  const Endpoint = builder.objectRef<ModelEndpoint>('GatewayModelEndpoint').implement({
    description: 'A model a plugin serves on this host (services.endpoints), which a route may publish.',
    fields: (t) => ({
      id: t.exposeID('id', { description: '`<plugin>:<server>/<model>`.' }),
      plugin: t.exposeString('plugin'),
      protocol: t.exposeString('protocol', { description: '`kserve-v2` (Triton) or `openai` (vLLM, llama-server).' }),
      server: t.exposeString('server'),
      model: t.exposeString('model'),
      baseUrl: t.exposeString('baseUrl'),
      ready: t.exposeBoolean('ready'),
    }),
  });

  const Route = builder.objectRef<GatewayRoute>('GatewayRoute').implement({
    description: 'One model endpoint published by an app under `paths`.',
    fields: (t) => ({
      app: t.exposeString('app'),
      modelName: t.exposeString('modelName'),
      endpointId: t.exposeString('endpointId'),
      protocol: t.exposeString('protocol'),
      protocols: t.stringList({ description: "The seed's `protocols`: the API the route speaks.", resolve: (r) => [r.protocol] }),
      paths: t.stringList({ resolve: (r, _args, ctx) => [publicPath(appOf(ctx, r.app), r)] }),
      url: t.string({ description: 'The path of the call clients make most (infer, chat completions).', resolve: (r, _args, ctx) => callPath(appOf(ctx, r.app), r) }),
      endpoint: t.field({ type: Endpoint, nullable: true, description: 'Null while the endpoint is not published.', resolve: (r, _args, ctx) => api(ctx).endpoints.get(r.endpointId) ?? null }),
      createdAt: t.field({ type: 'DateTime', resolve: (r) => r.createdAt }),
    }),
  });

  const Consumer = builder.objectRef<GatewayConsumer>('GatewayConsumer').implement({
    description: 'A user authorised to call an app with its API keys or tokens.',
    fields: (t) => ({
      app: t.exposeString('app'),
      user: t.exposeString('user'),
      tags: t.string({ resolve: (c, _args, ctx) => api(ctx).users.get(c.user)?.tags ?? '' }),
      createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt }),
    }),
  });

  const Traffic = builder.objectRef<AppTraffic>('GatewayTraffic').implement({
    description: 'Requests and errors (5xx) of one app since the daemon started, and their rates over the last `seconds`.',
    fields: (t) => ({
      app: t.exposeString('app'),
      requests: t.exposeInt('requests'),
      errors: t.exposeInt('errors'),
      requestsPerSecond: t.exposeFloat('requestsPerSecond'),
      errorsPerSecond: t.exposeFloat('errorsPerSecond'),
      seconds: t.exposeInt('seconds'),
    }),
  });

  const App = builder.objectRef<GatewayApp>('GatewayApp').implement({
    description: 'An application: a public path prefix whose routes publish model endpoints to its consumers, with retries, a timeout and a per-consumer rate limit.',
    fields: (t) => ({
      name: t.exposeString('name'),
      prefix: t.exposeString('prefix'),
      host: t.exposeString('host'),
      retries: t.exposeInt('retries'),
      timeoutMs: t.exposeInt('timeoutMs'),
      rateLimit: t.exposeInt('rateLimit'),
      rateWindowSeconds: t.exposeInt('rateWindowSeconds'),
      routes: t.field({ type: [Route], resolve: (a) => a.routes }),
      consumers: t.field({ type: [Consumer], resolve: (a) => a.consumers }),
      traffic: t.field({ type: Traffic, args: { seconds: t.arg.int({ validate: { schema: z.number().int().min(1).max(60) } }) }, resolve: (a, { seconds }, ctx) => api(ctx).traffic.appTraffic(a.name, seconds ?? 10) }),
      createdAt: t.field({ type: 'DateTime', resolve: (a) => a.createdAt }),
      updatedAt: t.field({ type: 'DateTime', resolve: (a) => a.updatedAt }),
    }),
  });

  const AppInput = builder.inputType('GatewayAppInput', {
    fields: (t) => ({
      name: t.string({ validate: { schema: name } }),
      prefix: t.string({ description: 'Default `/gateway/<name>`; any other must collide with no path the daemon serves.', validate: { schema: z.string().max(200) } }),
      host: t.string({ validate: { schema: z.string().max(255) } }),
      retries: t.int({ description: 'Extra attempts, 0 to 5.', validate: { schema: z.number().int().min(0, 'expected 0 to 5').max(5, 'expected 0 to 5') } }),
      timeoutMs: t.int({ validate: { schema: z.number().int().min(1).max(3_600_000, 'expected at most an hour') } }),
      rateLimit: t.int({ description: 'Requests per consumer per `rateWindowSeconds`.', validate: { schema: z.number().int().min(1).max(1_000_000) } }),
      rateWindowSeconds: t.int({ validate: { schema: z.number().int().min(1).max(86_400) } }),
    }),
  });

  builder.queryField('gatewayApps', (t) => t.field({ type: [App], resolve: (_r, _a, ctx) => api(ctx).store.list() }));
  builder.queryField('gatewayApp', (t) => t.field({ type: App, description: 'NOT_FOUND for an unknown app.', args: { name: t.arg.string({ required: true, validate: { schema: name } }) }, resolve: (_r, a, ctx) => api(ctx).store.get(a.name) }));
  builder.queryField('gatewayListenUrl', (t) => t.string({ nullable: true, description: "The gateway's own listener (`plugins.gateway.listen`), if configured; apps are also served under the main listener.", resolve: (_r, _a, ctx) => api(ctx).listenUrl ?? null }));
  builder.queryField('gatewayModelEndpoints', (t) => t.field({ type: [Endpoint], description: 'Every published model endpoint, of every plugin.', resolve: (_r, _a, ctx) => api(ctx).endpoints.list() }));
  builder.queryField('gatewayUserApps', (t) =>
    t.stringList({
      description: 'The apps a user is a consumer of. NOT_FOUND for an unknown user.',
      args: { user: t.arg.string({ required: true, validate: { schema: name } }) },
      resolve: (_r, { user }, ctx) => {
        if (!api(ctx).users.get(user)) throw new NotFoundError(`No user named '${user}'`, { details: { user } });
        return api(ctx).store.appsOf(user);
      },
    }),
  );
  builder.queryField('gatewayTraffic', (t) =>
    t.field({
      type: Traffic,
      args: { app: t.arg.string({ required: true, validate: { schema: name } }), seconds: t.arg.int({ validate: { schema: z.number().int().min(1).max(60) } }) },
      resolve: (_r, { app, seconds }, ctx) => api(ctx).traffic.appTraffic(api(ctx).store.get(app).name, seconds ?? 10),
    }),
  );

  builder.mutationField('createGatewayApp', (t) =>
    t.field({ type: App, extensions: admin, description: 'CONFLICT for a taken name; BAD_USER_INPUT for a prefix that collides with backplane’s own paths.', args: { input: t.arg({ type: AppInput, required: true }) }, resolve: (_r, { input }, ctx) => api(ctx).store.create(input) }),
  );
  builder.mutationField('updateGatewayApp', (t) =>
    t.field({ type: App, extensions: admin, args: { name: t.arg.string({ required: true, validate: { schema: name } }), input: t.arg({ type: AppInput, required: true }) }, resolve: (_r, { name: app, input }, ctx) => api(ctx).store.update(app, input) }),
  );
  builder.mutationField('deleteGatewayApp', (t) =>
    t.boolean({
      extensions: admin,
      args: { name: t.arg.string({ required: true, validate: { schema: name } }) },
      resolve: async (_r, { name: app }, ctx) => {
        await api(ctx).store.delete(app);
        return true;
      },
    }),
  );
  builder.mutationField('addGatewayRoute', (t) =>
    t.field({
      type: Route,
      extensions: admin,
      description: 'Publishes a model endpoint: `model` is an endpoint id or a model name one endpoint serves (or name the route `model` and give `endpoint`). BAD_USER_INPUT when it is not served.',
      args: { app: t.arg.string({ required: true, validate: { schema: name } }), model: t.arg.string({ required: true, validate: { schema: model } }), endpoint: t.arg.string({ validate: { schema: model } }) },
      resolve: (_r, { app, model: m, endpoint }, ctx) => api(ctx).store.addRoute(app, m, { endpoint }),
    }),
  );
  builder.mutationField('removeGatewayRoute', (t) =>
    t.boolean({
      extensions: admin,
      args: { app: t.arg.string({ required: true, validate: { schema: name } }), model: t.arg.string({ required: true, validate: { schema: model } }) },
      resolve: async (_r, { app, model: m }, ctx) => {
        await api(ctx).store.removeRoute(app, m);
        return true;
      },
    }),
  );
  builder.mutationField('addGatewayConsumer', (t) =>
    t.field({
      type: Consumer,
      extensions: admin,
      description: 'Authorises a user on an app. NOT_FOUND for an unknown app or user; CONFLICT when it is a consumer already.',
      args: { app: t.arg.string({ required: true, validate: { schema: name } }), user: t.arg.string({ required: true, validate: { schema: name } }) },
      resolve: (_r, { app, user }, ctx) => api(ctx).store.addConsumer(app, user),
    }),
  );
  builder.mutationField('removeGatewayConsumer', (t) =>
    t.boolean({
      extensions: admin,
      args: { app: t.arg.string({ required: true, validate: { schema: name } }), user: t.arg.string({ required: true, validate: { schema: name } }) },
      resolve: async (_r, { app, user }, ctx) => {
        await api(ctx).store.removeConsumer(app, user);
        return true;
      },
    }),
  );

  builder.subscriptionField('gatewayTrafficUpdated', (t) =>
    t.field({
      type: Traffic,
      description: "One app's traffic every second: totals, and requests and errors in the last second.",
      args: { app: t.arg.string({ required: true, validate: { schema: name } }) },
      subscribe: (_r, { app }, ctx) => watchTraffic(ctx, api(ctx), app),
      resolve: (traffic) => traffic,
    }),
  );
}

async function* watchTraffic(ctx: GraphQLContext, gateway: GatewayApi, app: string): AsyncGenerator<AppTraffic> {
  gateway.store.get(app);
  const updates = ctx.subscribe<AppTraffic>(gateway.trafficTopic);
  for await (const traffic of updates) if (traffic.app === app) yield traffic;
}
