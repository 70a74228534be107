import { expect, test } from 'vitest';
import type { ErrorCode, RestReply, RestRequest } from '../../core/plugin-api.ts';
import { ilabServingRoutes, legacyServingStatus } from './rest-serving.ts';

const route = (path: string) => ilabServingRoutes.find((r) => r.path === path)!;
const request = (init: Partial<RestRequest>): RestRequest => ({ method: 'GET', params: {}, query: new URLSearchParams(), body: undefined, headers: new Headers(), ...init });
const raw = (text: string) => Buffer.from(text);

test('legacy status words', () => {
  expect(['starting', 'loading', 'running', 'stopped', 'failed', undefined].map((s) => legacyServingStatus(s))).toEqual(['loading', 'loading', 'running', 'stopped', 'stopped', 'stopped']);
});

test('/vllm-status trims and lowercases; /vllm-unload only trims and matches keys as Go does', () => {
  const status = route('/vllm-status').variables as (r: RestRequest) => Record<string, unknown>;
  expect(status(request({ query: new URLSearchParams('model_name=%20Post-Train%20') }))).toEqual({ name: 'post-train' });
  expect(() => status(request({ query: new URLSearchParams('') }))).toThrow("Invalid model_name (must be 'pre-train' or 'post-train')");
  const unload = route('/vllm-unload').variables as (r: RestRequest) => Record<string, unknown>;
  expect(unload(request({ method: 'POST', body: raw('{"model_name":"\\tpre-train\\n"}') }))).toEqual({ name: 'pre-train' });
  expect(unload(request({ method: 'POST', body: raw('{"MODEL_NAME":"post-train"}') }))).toEqual({ name: 'post-train' });
  expect(() => unload(request({ method: 'POST', body: raw('{"model_name":"Pre-Train"}') }))).toThrow("Invalid model_name. Must be 'pre-train' or 'post-train'");
  expect(() => unload(request({ method: 'POST', body: raw('null') }))).toThrow("Invalid model_name. Must be 'pre-train' or 'post-train'");
  expect(() => unload(request({ method: 'POST', body: raw('{"model_name":1}') }))).toThrow('Invalid request body');
  expect(() => unload(request({ method: 'POST', body: raw('') }))).toThrow('Invalid request body');
});

test('/served-model-jobids: active servers only, keys sorted, sniffed as text like Go', () => {
  const reply = route('/served-model-jobids').reply({
    ilabServedModels: [
      { name: 'pre-train', status: 'running', jobId: 'ml-2' },
      { name: 'post-train', status: 'loading', jobId: 'v-1' },
    ],
  }, request({}));
  expect(reply).toEqual({ json: { 'post-train': 'v-1', 'pre-train': 'ml-2' }, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  expect(Object.keys(reply.json as object)).toEqual(['post-train', 'pre-train']);
  expect(route('/served-model-jobids').reply({ ilabServedModels: [{ name: 'pre-train', status: 'stopped', jobId: null }] }, request({}))).toMatchObject({ json: {} });
});

test('/vllm-unload failures name the model, as the legacy server wrote them', () => {
  const errors = route('/vllm-unload').errors!;
  const body = raw('{"model_name":" pre-train\\n"}');
  const reply = (code: ErrorCode, message: string) => (errors[code] as (e: { code: ErrorCode; message: string }, r: RestRequest) => RestReply)({ code, message }, request({ method: 'POST', body }));
  expect(reply('BACKEND_ERROR', 'podman stop failed: container state improper')).toEqual({
    status: 500,
    text: "Failed to unload model 'pre-train': podman stop failed: container state improper\n",
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
  });
  expect(reply('UNAVAILABLE', 'podman is missing').text).toBe("Failed to unload model 'pre-train': podman is missing\n");
  expect(reply('NOT_FOUND', "Model 'pre-train' is not being served").text).toBe("Failed to unload model 'pre-train': no vllm container found with served-model-name 'pre-train'\n");
});
