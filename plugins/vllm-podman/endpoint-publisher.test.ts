import { describe, expect, test } from 'vitest';
import { createModelEndpoints } from '../../core/services/endpoint-registry.ts';
import { syncEndpoint } from './endpoint-publisher.ts';
import type { ServerState } from './server-registry.ts';

const server = (status: ServerState['status']) => ({ name: 'granite', status, host: '127.0.0.1', port: 8123 }) as ServerState;

describe('a vLLM server’s model endpoint follows its status', () => {
  test('published (not ready) while loading, ready once running, withdrawn when stopped or failed', () => {
    const endpoints = createModelEndpoints();
    const registry = endpoints.forPlugin('vllm-podman');
    syncEndpoint(registry, server('loading'));
    expect(registry.list()).toEqual([{ id: 'vllm-podman:granite/granite', plugin: 'vllm-podman', protocol: 'openai', server: 'granite', model: 'granite', baseUrl: 'http://127.0.0.1:8123', ready: false }]);
    syncEndpoint(registry, server('running'));
    expect(registry.get('vllm-podman:granite/granite')?.ready).toBe(true);
    syncEndpoint(registry, server('failed'));
    expect(registry.list()).toEqual([]);
    syncEndpoint(registry, server('running'));
    syncEndpoint(registry, server('stopped'));
    expect(registry.list()).toEqual([]);
  });
});
