import { expect, test } from 'vitest';
import type { RestRequest } from '../../core/plugin-api.ts';
import { vllmRoutes } from './rest.ts';

const route = (path: string) => vllmRoutes.find((r) => r.path === path)!;
const request = (init: Partial<RestRequest>): RestRequest => ({ method: 'GET', params: {}, query: new URLSearchParams(), body: undefined, headers: new Headers(), ...init });

test('only /vllm-containers is this plugin’s; the served-name routes are the ilab plugin’s', () => {
  expect(vllmRoutes.map((r) => r.path)).toEqual(['/vllm-containers']);
});

test('/vllm-containers: null when empty', () => {
  expect(route('/vllm-containers').reply({ vllmContainers: [] }, request({}))).toEqual({ json: { containers: null } });
});
