import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BackplaneError, definePlugin, type ServingBackend } from '../core/plugin-api.ts';
import { ilabPlugin } from '../plugins/ilab/index.ts';
import { vllmPodmanPlugin } from '../plugins/vllm-podman/index.ts';
import { createModelRoot, defaultVllmImage, freePort, podmanTestsAvailable, startPodmanEnv, waitFor, type PodmanEnv } from './helpers/podman-env.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

/** Calls the `vllm` serving backend the way the ilab plugin will, and reports what it got. */
const servingCallerPlugin = definePlugin({
  id: 'serving-caller',
  version: '1.0.0',
  dependsOn: ['vllm-podman'],
  init: ({ serving }) => ({ backend: serving.get('vllm') as ServingBackend }),
  schema(builder, { api }) {
    const call = async (fn: () => Promise<unknown>) => {
      try {
        return { value: (await fn()) ?? null };
      } catch (error) {
        return { error: error instanceof BackplaneError ? { code: error.code, message: error.message, details: error.details ?? null } : String(error) };
      }
    };
    builder.mutationFields((t) => ({
      servingStart: t.field({ type: 'JSON', args: { name: t.arg.string({ required: true }), modelPath: t.arg.string({ required: true }), port: t.arg.int({ required: true }) }, resolve: (_r, a, ctx) => call(() => api(ctx).backend.start({ name: a.name, modelPath: a.modelPath, port: a.port, labels: { origin: 'ilab' } })) }),
      servingStop: t.field({ type: 'JSON', args: { name: t.arg.string({ required: true }) }, resolve: (_r, a, ctx) => call(() => api(ctx).backend.stop(a.name)) }),
    }));
    builder.queryField('servingGet', (t) => t.field({ type: 'JSON', args: { name: t.arg.string({ required: true }) }, resolve: (_r, a, ctx) => call(() => api(ctx).backend.get(a.name)) }));
  },
});

describe.skipIf(!podmanTestsAvailable())('vllm-podman across a daemon restart', () => {
  let env: PodmanEnv;
  let models: Awaited<ReturnType<typeof createModelRoot>>;
  let bp: TestDaemon | undefined;
  let dataDir: string;
  // The ilab plugin answers /served-model-jobids for the vLLM backend.
  const config = () => ({ plugins: { ilab: { bin: '/nonexistent/ilab', servingBackend: 'vllm' as const }, 'vllm-podman': { modelRoots: [models.root], deviceMode: 'none' as const, probeIntervalMs: 100, reconcileIntervalMs: 600_000, stopTimeoutSeconds: 5 } } });
  const server = async (name: string) => (await bp!.gql('query($n: String!) { vllmServer(name: $n) { name status message jobId containerId port } }', { n: name })).data.vllmServer;
  const untilStatus = (name: string, status: string) => waitFor(`${name} ${status}`, async () => ((await server(name))?.status === status ? server(name) : undefined));
  const jobLog = async (id: string) => (await bp!.request(`/jobs/${id}/logs`)).text();

  beforeAll(async () => {
    env = await startPodmanEnv();
    models = await createModelRoot({ base: { loadMs: 200 }, tuned: { loadMs: 200 }, stray: { loadMs: 100 } });
    bp = await startTestDaemon({ plugins: [vllmPodmanPlugin, servingCallerPlugin, ilabPlugin], config: config() });
    dataDir = bp.dataDir;
  });

  afterAll(async () => {
    await bp?.stop();
    // The second daemon reuses the first one's data dir, so stop() leaves it: remove it here.
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await env?.podman(['rm', '-f', '-t', '0', 'foreign']);
    const left = await env?.containers();
    await env?.cleanup();
    await models?.cleanup();
    expect(left).toEqual([]);
  });

  test('the serving backend: start, already running, get, as ilab uses it', async () => {
    const port = await freePort();
    const started = (await bp!.gql('mutation($m: String!, $p: Int!) { servingStart(name: "pre-train", modelPath: $m, port: $p) }', { m: models.path('base'), p: port })).data.servingStart;
    expect(started.value).toMatchObject({ name: 'pre-train', backend: 'vllm', status: 'loading', port, modelPath: models.path('base') });
    expect(started.value.jobId).toMatch(/^v-\d+$/);
    const again = (await bp!.gql('mutation($m: String!, $p: Int!) { servingStart(name: "pre-train", modelPath: $m, port: $p) }', { m: models.path('base'), p: port })).data.servingStart;
    expect(again.error).toMatchObject({ code: 'CONFLICT', details: { name: 'pre-train', jobId: started.value.jobId, port } });
    await untilStatus('pre-train', 'running');
    const got = (await bp!.gql('{ servingGet(name: "pre-train") }')).data.servingGet;
    expect(got.value).toMatchObject({ status: 'running', jobId: started.value.jobId });
    expect((await bp!.gql('{ servingGet(name: "nope") }')).data.servingGet).toEqual({ value: null });
  });

  test('a restart adopts running containers, settles vanished ones, removes strays', async () => {
    const before = await server('pre-train');
    const tuned = (await bp!.gql('mutation($m: String!, $p: Int!) { servingStart(name: "post-train", modelPath: $m, port: $p) }', { m: models.path('tuned'), p: await freePort() })).data.servingStart.value;
    await untilStatus('post-train', 'running');
    await waitFor('startup in the log', async () => ((await jobLog(before.jobId)).includes('Application startup complete.') ? true : undefined));
    await bp!.stop({ keepData: true });
    bp = undefined;

    // While backplane is down: one container vanishes, a stray of ours and a foreign one appear.
    expect((await env.podman(['rm', '-f', '-t', '0', 'backplane-vllm-post-train'])).exitCode).toBe(0);
    const instance = (await readFile(path.join(dataDir, 'plugins', 'vllm-podman', 'instance-id'), 'utf8')).trim();
    const labelled = (id: string, name: string) => ['run', '-d', '--name', name, '--label', 'backplane.managed=true', '--label', 'backplane.plugin=vllm-podman', '--label', `backplane.instance=${id}`, '--label', `backplane.served-name=${name}`, '--', defaultVllmImage, models.path('stray'), '--port', String(40000 + Math.floor(Math.random() * 1000))];
    expect((await env.podman(labelled(instance, 'stray'))).exitCode).toBe(0);
    expect((await env.podman(labelled('00000000-0000-0000-0000-000000000000', 'foreign'))).exitCode).toBe(0);
    expect(await env.containers()).toEqual(expect.arrayContaining(['backplane-vllm-pre-train', 'stray', 'foreign']));

    bp = await startTestDaemon({ plugins: [vllmPodmanPlugin, servingCallerPlugin, ilabPlugin], config: config(), dataDir });
    const adopted = await server('pre-train');
    expect(adopted).toMatchObject({ status: 'running', jobId: before.jobId, containerId: before.containerId });
    const vanished = await server('post-train');
    expect(vanished.status).toBe('failed');
    expect(vanished.message).toMatch(/disappeared/);
    const tunedJob = (await bp.gql('query($id: ID!) { job(id: $id) { status } }', { id: tuned.jobId })).data.job;
    expect(tunedJob.status).toBe('failed');
    expect((await bp.gql('query($id: ID!) { job(id: $id) { status } }', { id: before.jobId })).data.job.status).toBe('running');
    const names = await env.containers();
    expect(names).toContain('foreign');
    expect(names).not.toContain('stray');

    // The log stream is re-attached where it stopped: new lines arrive, old ones are not repeated.
    await fetch(`http://127.0.0.1:${adopted.port}/version`);
    const log = await waitFor('a live line after the restart', async () => {
      const text = await jobLog(before.jobId);
      return text.includes('"GET /version HTTP/1.1" 200 OK') ? text : undefined;
    });
    expect(log.split('Application startup complete.').length - 1).toBe(1);
    expect(await (await bp.request('/served-model-jobids')).text()).toBe(`{"pre-train":"${before.jobId}"}\n`);
  });

  test('stopping through the serving backend; a second stop finds nothing', async () => {
    const stopped = (await bp!.gql('mutation { servingStop(name: "pre-train") }')).data.servingStop;
    expect(stopped.value).toMatchObject({ name: 'pre-train', status: 'stopped' });
    expect((await bp!.gql('mutation { servingStop(name: "pre-train") }')).data.servingStop).toEqual({ value: null });
    expect(await env.containers()).toEqual(['foreign']);
  });
});
