import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BackplaneError, definePlugin } from '../core/plugin-api.ts';
import { llamaCppPlugin } from '../plugins/llama-cpp/index.ts';
import type { LlamaCppService } from '../plugins/llama-cpp/service.ts';
import { locateLlamaServer } from './fixtures/llama/llama-server-bin.ts';
import { createLlamaModelRoot, freePort, llamaClient } from './fixtures/llama/llama-test-kit.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const llamaServer = await locateLlamaServer();

/** Calls the plugin-internal API the way the OpenAI router will, and reports what it got. */
const routerProbePlugin = definePlugin({
  id: 'router-probe',
  version: '1.0.0',
  dependsOn: ['llama-cpp'],
  schema(builder) {
    const service = (ctx: { plugins: { get(id: string): unknown } }) => ctx.plugins.get('llama-cpp') as LlamaCppService;
    const call = async (fn: () => Promise<unknown> | unknown) => {
      try {
        return { value: (await fn()) ?? null };
      } catch (error) {
        return { error: error instanceof BackplaneError ? { code: error.code, message: error.message, details: error.details ?? null } : String(error) };
      }
    };
    builder.mutationField('probeRoute', (t) =>
      t.field({
        type: 'JSON',
        args: { model: t.arg.string({ required: true }), callers: t.arg.int({ required: true }) },
        resolve: (_r, { model, callers }, ctx) =>
          call(async () => {
            const llama = service(ctx);
            const target = llama.resolveModel(model);
            if (!target) return { found: false };
            const ready = await Promise.all(Array.from({ length: callers }, () => llama.ensureRunning(target.name)));
            const end = llama.beginRequest(target.name);
            const during = llama.get(target.name)!.inFlight;
            const body = await (await fetch(`${llama.baseUrl(target.name)}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Hi', max_tokens: 3, temperature: 0 }) })).json();
            end();
            end();
            return { name: target.name, statuses: ready.map((r) => r.status), jobIds: [...new Set(ready.map((r) => r.jobId))].length, during, after: llama.get(target.name)!.inFlight, lastRequestAt: llama.get(target.name)!.lastRequestAt, usage: (body as { usage: unknown }).usage };
          }),
      }),
    );
  },
});

describe.skipIf(llamaServer.skip !== undefined)(`llama-cpp's API for the router${llamaServer.skip ? ` (skipped: ${llamaServer.skip})` : ''}`, () => {
  let bp: TestDaemon;
  let models: Awaited<ReturnType<typeof createLlamaModelRoot>>;

  beforeAll(async () => {
    models = await createLlamaModelRoot();
    bp = await startTestDaemon({
      plugins: [llamaCppPlugin, routerProbePlugin],
      config: { plugins: { 'llama-cpp': { llamaServerPath: llamaServer.path, modelRoots: [models.root], healthIntervalMs: 200, defaults: { ctxSize: 512, threads: 1 } } } },
    });
  }, 120_000);
  afterAll(async () => {
    await bp?.gql('mutation { stopAllLlamaInstances(force: true) { name } }').catch(() => undefined);
    await bp?.stop();
    await models?.cleanup();
  });

  test('an on-demand instance is started once for concurrent requests by alias; in-flight requests are counted', async () => {
    const llama = llamaClient(bp.gql);
    expect((await llama.create({ name: 'lazy', modelPath: models.model, port: await freePort(), options: { onDemandStart: true, aliases: ['org/lazy:q4'] } })).errors).toBeUndefined();
    const routed = (await bp.gql('mutation { probeRoute(model: "org/lazy:q4", callers: 3) }')).data.probeRoute;
    expect(routed.error).toBeUndefined();
    expect(routed.value).toMatchObject({ name: 'lazy', statuses: ['running', 'running', 'running'], jobIds: 1, during: 1, after: 0, usage: { completion_tokens: 3 } });
    expect(routed.value.lastRequestAt).not.toBeNull();
    expect((await bp.gql('mutation { probeRoute(model: "nope", callers: 1) }')).data.probeRoute).toEqual({ value: { found: false } });
  });

  test('an instance without on-demand start is instance_not_running', async () => {
    const llama = llamaClient(bp.gql);
    expect((await llama.create({ name: 'manual', modelPath: models.model, port: await freePort() })).errors).toBeUndefined();
    const routed = (await bp.gql('mutation { probeRoute(model: "manual", callers: 1) }')).data.probeRoute;
    expect(routed.error).toMatchObject({ code: 'UNAVAILABLE', details: { code: 'instance_not_running', status: 'stopped' } });
    expect((await llama.instance('manual')).status).toBe('stopped');
  });
});
