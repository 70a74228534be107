import { expect, test } from 'vitest';
import { buildRunArgs } from './container-args.ts';

const config = { image: 'docker.io/vllm/vllm-openai:v0.11.0', pull: 'never' as const, entrypoint: undefined, host: '127.0.0.1', shmSize: '10g' };
const base = {
  config,
  instanceId: '6f1c1f62-0d4e-4a53-9d43-0f1a1d8e3c11',
  name: 'pre-train',
  containerName: 'backplane-vllm-pre-train',
  modelPath: '/var/home/cloud-user/.cache/instructlab/models/granite-8b-starter-v1',
  port: 8000,
  // What a two-GPU lease of the core gpu service gives.
  deviceArgs: ['--device', 'nvidia.com/gpu=0', '--device', 'nvidia.com/gpu=1'],
  vllmArgs: ['--load-format', 'safetensors', '--tensor-parallel-size', '2'],
};

test('the exact podman argv with CDI GPU devices', () => {
  const model = base.modelPath;
  expect(buildRunArgs(base)).toEqual([
    'run', '--detach', '--name', 'backplane-vllm-pre-train', '--pull=never',
    '--label', 'backplane.managed=true',
    '--label', 'backplane.plugin=vllm-podman',
    '--label', 'backplane.instance=6f1c1f62-0d4e-4a53-9d43-0f1a1d8e3c11',
    '--label', 'backplane.served-name=pre-train',
    '--label', 'backplane.port=8000',
    '--label', `backplane.model-path=${model}`,
    '--network', 'host',
    '--security-opt', 'no-new-privileges',
    '--shm-size', '10g',
    '--volume', `${model}:${model}:ro`,
    '--device', 'nvidia.com/gpu=0', '--device', 'nvidia.com/gpu=1',
    '--',
    'docker.io/vllm/vllm-openai:v0.11.0',
    model, '--served-model-name', 'pre-train', '--host', '127.0.0.1', '--port', '8000',
    '--load-format', 'safetensors', '--tensor-parallel-size', '2',
  ]);
});

test('no devices without a lease; an entrypoint override; another pull policy', () => {
  const args = buildRunArgs({ ...base, deviceArgs: [], config: { ...config, pull: 'missing', entrypoint: ['/opt/app-root/bin/vllm', 'serve'] } });
  expect(args).not.toContain('--device');
  expect(args).toContain('--pull=missing');
  expect(args.slice(args.indexOf('--entrypoint'), args.indexOf('--entrypoint') + 2)).toEqual(['--entrypoint', '["/opt/app-root/bin/vllm","serve"]']);
  expect(args.indexOf('--entrypoint')).toBeLessThan(args.indexOf('--'));
});

test('exactly one volume, read-only', () => {
  const args = buildRunArgs(base);
  expect(args.filter((a) => a === '--volume' || a === '-v')).toHaveLength(1);
  expect(args[args.indexOf('--volume') + 1]).toMatch(/:ro$/);
});
