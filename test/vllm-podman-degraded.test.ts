import { afterAll, beforeAll, expect, test } from 'vitest';
import { ilabPlugin } from '../plugins/ilab/index.ts';
import { vllmPodmanPlugin } from '../plugins/vllm-podman/index.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

// No podman needed: the plugin is pointed at an executable that does not exist.
let bp: TestDaemon;
beforeAll(async () => {
  // The UI's served-name routes are the ilab plugin's; in vllm mode they ask this plugin.
  bp = await startTestDaemon({ plugins: [vllmPodmanPlugin, ilabPlugin], config: { plugins: { ilab: { bin: '/nonexistent/ilab', servingBackend: 'vllm' as const }, 'vllm-podman': { podmanPath: '/nonexistent/podman', deviceMode: 'none' } } } });
});
afterAll(() => bp.stop());

const reason = 'podman not found or not executable (ENOENT: cannot run /nonexistent/podman); install podman or set plugins.vllm-podman.podmanPath';

test('podman missing: the plugin is degraded and says why', async () => {
  const { data } = await bp.gql('{ plugins { id status message } }');
  expect(data.plugins.find((p: { id: string }) => p.id === 'vllm-podman')).toEqual({ id: 'vllm-podman', status: 'degraded', message: reason });
});

test('GraphQL answers UNAVAILABLE with the reason', async () => {
  const result = await bp.gql('mutation { startVllmServer(input: { name: "pre-train", modelPath: "/models/x", port: 8000 }) { name } }');
  expect(result.errors?.[0]).toMatchObject({ message: `The vllm-podman plugin is degraded: ${reason}`, extensions: { code: 'UNAVAILABLE' } });
  expect((await bp.gql('{ vllmServers { name } }')).errors?.[0].extensions?.code).toBe('UNAVAILABLE');
});

test('legacy routes answer 500 with a clear text message', async () => {
  const status = await bp.request('/vllm-status?model_name=pre-train');
  expect(status.status).toBe(500);
  expect(status.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  expect(await status.text()).toBe(`Failed to list vllm containers: The vllm-podman plugin is degraded: ${reason}\n`);
  const containers = await bp.request('/vllm-containers');
  expect(containers.status).toBe(500);
  expect(await containers.text()).toMatch(/^Failed to list vllm containers: The vllm-podman plugin is degraded/);
  const unload = await bp.request('/vllm-unload', { method: 'POST', body: '{"model_name":"pre-train"}' });
  expect(unload.status).toBe(500);
  expect(await unload.text()).toBe(`Failed to unload model 'pre-train': The vllm-podman plugin is degraded: ${reason}\n`);
  // Input is still checked first, as the legacy server did.
  const bad = await bp.request('/vllm-unload', { method: 'POST', body: '{"model_name":"nope"}' });
  expect(bad.status).toBe(400);
  expect((await bp.request('/served-model-jobids')).status).toBe(500);
});

test('a bad /vllm-unload body is the legacy 400', async () => {
  for (const body of ['', '{bad', '[1]', '{"model_name":5}']) {
    const response = await bp.request('/vllm-unload', { method: 'POST', body });
    expect(response.status).toBe(400);
    expect(await response.text()).toBe('Invalid request body\n');
  }
});
