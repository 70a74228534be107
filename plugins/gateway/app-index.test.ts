import { describe, expect, test } from 'vitest';
import { AppIndex } from './app-index.ts';
import { Traffic } from './traffic.ts';
import type { AppStore } from './app-store.ts';
import type { GatewayApp } from './types.ts';

type AppIndexStore = Pick<AppStore, 'list' | 'onChange'>;

const at = new Date(0);
function app(name: string, prefix: string): GatewayApp {
  return { name, prefix, host: '', retries: 0, timeoutMs: 1000, rateLimit: 10, rateWindowSeconds: 1, routes: [], consumers: [], createdAt: at, updatedAt: at };
}

/** The part of AppStore the index reads, with the store's own habits: arrays replaced on change. */
function storeOf(apps: GatewayApp[]) {
  type Listener = Parameters<AppIndexStore['onChange']>[0];
  const listeners = new Set<Listener>();
  return {
    list: () => [...apps],
    onChange(listener: Listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    emit: () => listeners.forEach((l) => l({ app: apps[apps.length - 1].name, kind: 'created' })),
  };
}

describe('the gateway app index', () => {
  test('longest prefix wins, routes match by their public path, consumers by name', () => {
    const chat = app('chat', '/gateway/chat');
    const nested = app('deep', '/ml/deep');
    const outer = app('ml', '/ml');
    chat.routes = [{ app: 'chat', modelName: 'tiny', endpointId: 'e:tiny', protocol: 'openai', createdAt: at }, { app: 'chat', modelName: 'resnet', endpointId: 'e:resnet', protocol: 'kserve-v2', createdAt: at }];
    chat.consumers = [{ app: 'chat', user: 'alice', createdAt: at }];
    const index = new AppIndex(storeOf([chat, outer, nested]));

    expect(index.find('/ml/deep/x')?.app.name).toBe('deep');
    expect(index.find('/ml/deeper')?.app.name).toBe('ml');
    expect(index.find('/gateway/chatty')).toBeUndefined();
    const entry = index.find('/gateway/chat/tiny/v1/chat/completions')!;
    expect(entry.routeLabel).toBe('/gateway/chat/*');
    expect(index.matchRoute(entry, '/gateway/chat/tiny/v1/chat/completions')).toEqual({ route: chat.routes[0], rest: '/chat/completions' });
    expect(index.matchRoute(entry, '/gateway/chat/v2/models/resnet/infer')).toEqual({ route: chat.routes[1], rest: '/infer' });
    expect(index.matchRoute(entry, '/gateway/chat/tinyx/v1')).toBeUndefined();
    expect(index.consumerKey(entry, 'alice')).toBe('chat\0alice');
    expect(index.consumerKey(entry, 'bob')).toBeUndefined();
  });

  test('a change is seen by the next request: new apps after an event, replaced routes and consumers even without one', () => {
    const chat = app('chat', '/gateway/chat');
    chat.consumers = [{ app: 'chat', user: 'alice', createdAt: at }];
    const apps = [chat];
    const store = storeOf(apps);
    const index = new AppIndex(store);
    const entry = index.find('/gateway/chat/x')!;
    expect(index.consumerKey(entry, 'alice')).toBeDefined();

    // AppStore.pruneConsumers replaces the array and emits nothing.
    chat.consumers = [];
    expect(index.consumerKey(entry, 'alice')).toBeUndefined();
    chat.routes = [{ app: 'chat', modelName: 'tiny', endpointId: 'e:tiny', protocol: 'openai', createdAt: at }];
    expect(index.matchRoute(entry, '/gateway/chat/tiny/v1/models')?.rest).toBe('/models');

    apps.push(app('other', '/gateway/other'));
    expect(index.find('/gateway/other/x')).toBeUndefined();
    store.emit();
    expect(index.find('/gateway/other/x')?.app.name).toBe('other');
  });
});

describe('gateway traffic counters', () => {
  test('per-series counters render as Prometheus text, labels escaped, the histogram per app and route', () => {
    const traffic = new Traffic({ now: () => 5_000 });
    traffic.observe({ app: 'chat', route: 'tiny', consumer: 'alice', status: 200, seconds: 0.003 });
    traffic.observe({ app: 'chat', route: 'tiny', consumer: 'alice', status: 200, seconds: 0.02 });
    traffic.observe({ app: 'chat', route: 'tiny', consumer: 'b"ob', status: 502, seconds: 0.2 });
    const text = traffic.render();
    expect(text).toContain('backplane_gateway_requests_total{app="chat",route="tiny",consumer="alice",status="200"} 2\n');
    expect(text).toContain('backplane_gateway_requests_total{app="chat",route="tiny",consumer="b\\"ob",status="502"} 1\n');
    expect(text).toContain('backplane_gateway_errors_total{app="chat",route="tiny",consumer="b\\"ob"} 1\n');
    expect(text).not.toContain('backplane_gateway_errors_total{app="chat",route="tiny",consumer="alice"}');
    expect(text).toContain('backplane_gateway_request_duration_seconds_bucket{app="chat",route="tiny",le="0.005"} 1\n');
    expect(text).toContain('backplane_gateway_request_duration_seconds_bucket{app="chat",route="tiny",le="0.025"} 2\n');
    expect(text).toContain('backplane_gateway_request_duration_seconds_count{app="chat",route="tiny"} 3\n');
    expect(text.match(/request_duration_seconds_count/g)).toHaveLength(1);
    expect(traffic.appTraffic('chat')).toMatchObject({ requests: 3, errors: 1 });
  });
});
