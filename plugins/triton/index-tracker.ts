import type { EndpointRegistry, PubSubService } from '../../core/plugin-api.ts';
import { baseUrl } from './triton-client.ts';
import type { TritonIndexEntry, TritonModelStateEvent, TritonServerSpec } from './types.ts';

/** The pubsub topic of model state changes (`triton:models` from outside the plugin). */
export const modelsTopic = 'models';

/**
 * Each server's last repository index: every change of a version's state is published on the
 * `models` topic, and every (server, model) is kept published to the endpoint registry with
 * `ready` current (when the daemon has one).
 */
export class IndexTracker {
  readonly #index = new Map<string, TritonIndexEntry[]>();
  /** Endpoint ids published per server. */
  readonly #published = new Map<string, Set<string>>();
  readonly #pubsub: PubSubService;
  readonly #endpoints: EndpointRegistry | undefined;

  constructor({ pubsub, endpoints }: { pubsub: PubSubService; endpoints: EndpointRegistry | undefined }) {
    this.#pubsub = pubsub;
    this.#endpoints = endpoints;
  }

  get(id: string): TritonIndexEntry[] {
    return this.#index.get(id) ?? [];
  }

  /** Forgets a server: its endpoints are withdrawn. */
  forget(id: string): void {
    this.withdrawAll(id);
    this.#index.delete(id);
  }

  publish(event: TritonModelStateEvent): void {
    this.#pubsub.publish(modelsTopic, event);
  }

  /** Records a fresh index; publishes what changed since the last one. */
  set(spec: TritonServerSpec, entries: TritonIndexEntry[]): void {
    const key = (e: TritonIndexEntry) => `${e.name}\u0000${e.version ?? ''}`;
    const before = new Map((this.#index.get(spec.id) ?? []).map((e) => [key(e), e]));
    const after = new Map(entries.map((e) => [key(e), e]));
    this.#index.set(spec.id, entries);
    const at = new Date();
    for (const [k, e] of after) {
      const old = before.get(k);
      if (!old || old.state !== e.state || old.reason !== e.reason) this.publish({ serverId: spec.id, name: e.name, version: e.version, state: e.state, reason: e.reason, at });
    }
    const names = new Set(entries.map((e) => e.name));
    // A never-loaded entry replaced by its versions is not a removal.
    for (const [k, e] of before) if (!after.has(k) && !names.has(e.name)) this.publish({ serverId: spec.id, name: e.name, version: e.version, state: null, reason: 'removed from the repository', at });
    this.#syncEndpoints(spec, entries);
  }

  #syncEndpoints(spec: TritonServerSpec, entries: TritonIndexEntry[]): void {
    const endpoints = this.#endpoints;
    if (!endpoints) return;
    const ready = new Map<string, boolean>();
    for (const e of entries) ready.set(e.name, (ready.get(e.name) ?? false) || e.state === 'READY');
    const ids = new Set<string>();
    for (const [model, isReady] of ready) {
      const id = `triton:${spec.id}/${model}`;
      ids.add(id);
      const current = endpoints.get(id);
      if (current?.ready === isReady && current.baseUrl === baseUrl(spec)) continue;
      endpoints.publish({ id, protocol: 'kserve-v2', server: spec.id, model, baseUrl: baseUrl(spec), ready: isReady });
    }
    for (const old of this.#published.get(spec.id) ?? []) if (!ids.has(old)) endpoints.withdraw(old);
    this.#published.set(spec.id, ids);
  }

  /** A server that is down keeps its endpoints, not ready. */
  markEndpoints(id: string, ready: () => boolean): void {
    const endpoints = this.#endpoints;
    if (!endpoints) return;
    for (const endpointId of this.#published.get(id) ?? []) {
      const current = endpoints.get(endpointId);
      if (current && current.ready !== ready()) endpoints.publish({ id: current.id, protocol: current.protocol, server: current.server, model: current.model, baseUrl: current.baseUrl, ready: ready() });
    }
  }

  withdrawAll(id: string): void {
    for (const endpointId of this.#published.get(id) ?? []) this.#endpoints?.withdraw(endpointId);
    this.#published.delete(id);
  }
}
