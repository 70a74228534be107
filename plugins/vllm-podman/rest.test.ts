import { expect, test } from 'vitest';
import type { RestRequest } from '../../core/plugin-api.js';
import { legacyStatus, vllmRoutes } from './rest.js';

const route = (path: string) => vllmRoutes.find((r) => r.path === path)!;
const request = (init: Partial<RestRequest>): RestRequest => ({ method: 'GET', params: {}, query: new URLSearchParams(), body: undefined, headers: new Headers(), ...init });

test('legacy status words', () => {
  expect(['starting', 'loading', 'running', 'stopped', 'failed', undefined].map((s) => legacyStatus(s as never))).toEqual(['loading', 'loading', 'running', 'stopped', 'stopped', 'stopped']);
});

test('/vllm-status trims and lowercases; /vllm-unload only trims', () => {
  const status = route('/vllm-status').variables as (r: RestRequest) => Record<string, unknown>;
  expect(status(request({ query: new URLSearchParams('model_name=%20Post-Train%20') }))).toEqual({ name: 'post-train' });
  expect(() => status(request({ query: new URLSearchParams('') }))).toThrow("Invalid model_name (must be 'pre-train' or 'post-train')");
  const unload = route('/vllm-unload').variables as (r: RestRequest) => Record<string, unknown>;
  expect(unload(request({ method: 'POST', body: { model_name: '\tpre-train\n' } }))).toEqual({ name: 'pre-train' });
  expect(() => unload(request({ method: 'POST', body: { model_name: 'Pre-Train' } }))).toThrow("Invalid model_name. Must be 'pre-train' or 'post-train'");
  expect(() => unload(request({ method: 'POST', body: null }))).toThrow("Invalid model_name. Must be 'pre-train' or 'post-train'");
  expect(() => unload(request({ method: 'POST', body: { model_name: 1 } }))).toThrow('Invalid request body');
});

test('/served-model-jobids: active servers only, keys sorted, sniffed as text like Go', () => {
  const reply = route('/served-model-jobids').reply({
    vllmServers: [
      { name: 'pre-train', status: 'running', jobId: 'v-2' },
      { name: 'b', status: 'failed', jobId: 'v-3' },
      { name: 'post-train', status: 'loading', jobId: 'v-1' },
    ],
  }, request({}));
  expect(reply).toEqual({ json: { 'post-train': 'v-1', 'pre-train': 'v-2' }, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  expect(Object.keys(reply.json as object)).toEqual(['post-train', 'pre-train']);
  expect(route('/served-model-jobids').reply({ vllmServers: [] }, request({}))).toMatchObject({ json: {} });
});

test('/vllm-containers: null when empty', () => {
  expect(route('/vllm-containers').reply({ vllmContainers: [] }, request({}))).toEqual({ json: { containers: null } });
});
