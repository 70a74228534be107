import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { vllmPodmanConfigSchema } from './config.ts';

test('defaults', () => {
  const config = vllmPodmanConfigSchema.parse({});
  expect(config).toMatchObject({ podmanPath: 'podman', image: 'docker.io/vllm/vllm-openai:latest', pull: 'never', host: '127.0.0.1', deviceMode: 'cdi', defaultArgs: [] });
  expect(config.modelRoots).toEqual([path.join(os.homedir(), '.cache/instructlab/models'), path.join(os.homedir(), '.local/share/instructlab/checkpoints')]);
});

test('~ expands; relative roots, bad hosts, unknown keys and bad default args are refused', () => {
  expect(vllmPodmanConfigSchema.parse({ modelRoots: ['~/models', '/srv/models'] }).modelRoots).toEqual([path.join(os.homedir(), 'models'), '/srv/models']);
  for (const bad of [{ modelRoots: ['models'] }, { host: 'localhost' }, { pull: 'sometimes' }, { surprise: 1 }, { defaultArgs: ['--port', '1'] }, { shmSize: 'lots' }]) {
    expect(vllmPodmanConfigSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  }
  expect(vllmPodmanConfigSchema.parse({ defaultArgs: ['--load-format', 'safetensors'] }).defaultArgs).toEqual(['--load-format', 'safetensors']);
});
