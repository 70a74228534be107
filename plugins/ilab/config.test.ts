import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { formatIssues } from '../../core/config/format-issues.ts';
import { ilabConfigSchema } from './config.ts';
import { resolveIlabPaths } from './paths.ts';

test('defaults follow ilab’s XDG layout under the home directory', () => {
  const config = ilabConfigSchema.parse({});
  expect(config).toMatchObject({ mode: 'real', bin: 'ilab', pipeline: 'accelerated', generatePipeline: 'full', devices: [], servingBackend: 'local', serveHost: '127.0.0.1', ports: { base: 8000, latest: 8001 } });
  expect(config).toMatchObject({ modelCacheRefresh: 1_200_000, modelCacheMaxAgeMs: 1_200_000, qnaEval: { podmanBin: 'podman', image: 'quay.io/bsalisbu/qna-eval', timeoutMs: 600_000 } });
  const paths = resolveIlabPaths(config, '/data/plugins/ilab');
  const home = os.homedir();
  expect(paths).toEqual({
    home,
    taxonomy: path.join(home, '.local/share/instructlab/taxonomy'),
    models: path.join(home, '.cache/instructlab/models'),
    checkpoints: path.join(home, '.local/share/instructlab/checkpoints/hf_format'),
    datasets: path.join(home, '.local/share/instructlab/datasets'),
    worktrees: '/data/plugins/ilab/worktrees',
    yamlDirs: [path.join(home, '.local/share/instructlab/taxonomy')],
    workDir: undefined,
  });
});

test('mock mode keeps its home in the plugin data directory; ~ and relative paths are expanded', () => {
  const paths = resolveIlabPaths(ilabConfigSchema.parse({ mode: 'mock', modelsDir: '~/models', taxonomyDir: 'tax', qnaEval: { yamlDirs: ['~/evals'] } }), '/data/plugins/ilab');
  expect(paths.home).toBe('/data/plugins/ilab/mock-home');
  expect(paths.datasets).toBe('/data/plugins/ilab/mock-home/.local/share/instructlab/datasets');
  expect(paths.models).toBe(path.join(os.homedir(), 'models'));
  expect(paths.taxonomy).toBe(path.resolve('tax'));
  expect(paths.yamlDirs).toEqual([path.join(os.homedir(), 'evals')]);
});

test('every bad value names its path', () => {
  const result = ilabConfigSchema.safeParse({ pipeline: 'fast', servingBackend: 'k8s', serveGpus: 1.5, mock: { stepMs: -1 }, convert: { enabled: 'yes' }, ports: { base: 70000 } });
  expect(result.success).toBe(false);
  expect(formatIssues(result.error!.issues, ['plugins', 'ilab'])).toEqual([
    'plugins.ilab.pipeline: expected one of: simple, accelerated, full',
    'plugins.ilab.servingBackend: expected one of: local, vllm',
    'plugins.ilab.ports.base: expected integer port 1-65535',
    'plugins.ilab.serveGpus: expected positive integer',
    'plugins.ilab.convert.enabled: expected true or false',
    'plugins.ilab.mock.stepMs: expected non-negative integer',
  ]);
});

test('the model cache refreshes every 20 minutes by default, or on a configured interval or cron expression', () => {
  expect(ilabConfigSchema.parse({ modelCacheRefresh: 300_000 }).modelCacheRefresh).toBe(300_000);
  expect(ilabConfigSchema.parse({ modelCacheRefresh: '0 * * * *' }).modelCacheRefresh).toBe('0 * * * *');
  const bad = (value: unknown) => formatIssues(ilabConfigSchema.safeParse({ modelCacheRefresh: value }).error!.issues, ['plugins', 'ilab']);
  expect(bad(true)).toEqual(['plugins.ilab.modelCacheRefresh: expected a number of milliseconds or a cron expression']);
  expect(bad(0)).toEqual(['plugins.ilab.modelCacheRefresh: expected positive integer']);
  expect(bad('')).toEqual(['plugins.ilab.modelCacheRefresh: expected a cron expression']);
});
