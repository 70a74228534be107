import { InputError, NotFoundError, requireScope, UnavailableError, type Builder, type SchemaHelpers } from '../../core/plugin-api.ts';
import type { LlamaCppService } from './service.ts';

/** Where a routed request goes. */
interface LlamaRoute {
  instance: string;
  baseUrl: string;
}

/** One entry of `/v1/models`. */
interface LlamaModel {
  id: string;
  status: string;
  aliases: string[];
  createdAt: Date;
}

/**
 * The fields the OpenAI router and the llamactl proxy routes run: `routeLlamaRequest` (the
 * instance a request's `model` names, started on demand and counted in flight until the
 * route's reply ends), `llamaModels` (`/v1/models`), both for keys with the `inference` scope,
 * and `llamaCppConfig` (llamactl's `/api/v1/config`). Pure: no I/O here.
 */
export function addLlamaRouterSchema(builder: Builder, { api }: SchemaHelpers<LlamaCppService>): void {
  const Route = builder.objectRef<LlamaRoute>('LlamaRoute').implement({
    description: 'The instance a routed request goes to.',
    fields: (t) => ({
      instance: t.exposeString('instance', { description: 'The instance’s name (the request’s model may be an alias).' }),
      baseUrl: t.exposeString('baseUrl', { description: '`http://host:port` of its llama-server.' }),
    }),
  });

  const Model = builder.objectRef<LlamaModel>('LlamaModel').implement({
    description: 'An instance as an OpenAI-style model.',
    fields: (t) => ({
      id: t.exposeString('id', { description: 'The instance’s name: what `model` names in a request.' }),
      status: t.exposeString('status'),
      aliases: t.exposeStringList('aliases', { description: 'More names `model` may use.' }),
      createdAt: t.field({ type: 'DateTime', resolve: (m) => m.createdAt }),
    }),
  });

  builder.mutationField('routeLlamaRequest', (t) =>
    t.field({
      type: Route,
      extensions: requireScope('inference'),
      description:
        'Picks the instance a request’s `model` (name or alias) names and makes sure it runs: a stopped on-demand instance is started and awaited. NOT_FOUND (details.code model_not_found) for an unknown model; UNAVAILABLE (instance_not_running) when it is not running and may not be started; BACKEND_ERROR or TIMEOUT when the start fails. Run from a REST route, the request counts as in flight until the route’s reply ends, and a client that goes away gives up the wait.',
      args: {
        model: t.arg.string({ required: true, description: '1 to 256 characters.' }),
        start: t.arg.boolean({ defaultValue: true, description: 'Start an on-demand instance (false: only a running one will do).' }),
      },
      resolve: async (_r, { model, start }, ctx) => {
        // Checked here rather than by a zod schema: this runs once per proxied request.
        if (model.length === 0 || model.length > 256) throw new InputError('model: expected 1 to 256 characters');
        const llama = api(ctx);
        const target = llama.resolveModel(model);
        if (!target) throw new NotFoundError(`The model '${model}' does not exist`, { details: { code: 'model_not_found', model } });
        if (start === false && target.status !== 'running') {
          throw new UnavailableError(`Instance '${target.name}' is not running (status ${target.status})`, { details: { name: target.name, status: target.status, code: 'instance_not_running' } });
        }
        if (start !== false) await llama.ensureRunning(target.name, ctx.rest?.signal);
        const end = llama.beginRequest(target.name);
        // Over /graphql nothing is proxied: the request is only stamped.
        if (ctx.rest) ctx.rest.onEnd(end);
        else end();
        return { instance: target.name, baseUrl: llama.baseUrl(target.name) };
      },
    }),
  );

  builder.queryFields((t) => ({
    llamaModels: t.field({
      type: [Model],
      extensions: requireScope('inference'),
      description: 'Every instance as a model for `GET /v1/models`, by name, with its status.',
      resolve: (_r, _a, ctx) => api(ctx).list().map((s) => ({ id: s.name, status: s.status, aliases: s.options.aliases, createdAt: s.createdAt })),
    }),
    llamaCppConfig: t.field({
      type: 'JSON',
      description: 'The llama-cpp plugin’s configuration (it holds no secrets), for llamactl’s `GET /api/v1/config`.',
      resolve: (_r, _a, ctx) => api(ctx).config,
    }),
  }));

  builder.mutationField('updateLlamaCppConfig', (t) =>
    t.field({
      type: 'JSON',
      extensions: requireScope('admin'),
      description:
        'Changes the llama-cpp settings that may change at run time — healthIntervalMs, healthTimeoutMs, unhealthyThreshold, startTimeoutMs, stopTimeoutSeconds, idleCheckIntervalMs, onDemandStartTimeoutMs, restart (merged), groups (replaced), defaults (merged); `null` puts a key back to the config file’s value — and returns the configuration in effect. Kept across daemon restarts. BAD_USER_INPUT names a read-only key (llamaServerPath, host, modelRoots, portRange: config file and restart), an unknown key or a bad value; nothing changes then.',
      args: { input: t.arg({ type: 'JSON', required: true }) },
      resolve: async (_r, { input }, ctx) => {
        const llama = api(ctx);
        await llama.updateConfig(input);
        return llama.config;
      },
    }),
  );
}
