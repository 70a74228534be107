import { useQuery, useSubscription } from '@urql/preact';
import { useMemo, useRef } from 'preact/hooks';
import {
  DashboardTritonFleetDocument,
  DashboardTritonModelStateDocument,
  type DashboardTritonModelStateSubscription,
  type DashboardTritonVersionFragment,
} from '../../../schema/generated/graphql.ts';

type StateEvent = DashboardTritonModelStateSubscription['tritonModelStateChanged'];
export type TritonVersions = DashboardTritonVersionFragment[];
/** serverId → model name → its index entries. */
export type TritonModelMap = Map<string, Map<string, TritonVersions>>;

const maxEvents = 2000;

/**
 * Every server's models: the fleet index (asked once, and again after a load or unload, which
 * invalidates it), with the `tritonModelStateChanged` events since that answer put over it.
 */
export function useTritonModels() {
  const [{ data, error }, refetch] = useQuery({ query: DashboardTritonFleetDocument });
  const [events] = useSubscription({ query: DashboardTritonModelStateDocument }, (previous: StateEvent[] = [], event) => [...previous.slice(-(maxEvents - 1)), event.tritonModelStateChanged]);
  const list = events.data ?? [];
  // Events before the current fleet answer are in it already; only later ones are applied.
  const snapshot = useRef<{ data: typeof data; from: number }>({ data: undefined, from: 0 });
  if (snapshot.current.data !== data) snapshot.current = { data, from: list.length };
  const from = Math.min(snapshot.current.from, list.length);
  const models = useMemo(() => {
    const map: TritonModelMap = new Map();
    for (const model of data?.tritonFleet.models ?? []) {
      for (const p of model.placements) {
        const server = map.get(p.serverId) ?? new Map<string, TritonVersions>();
        server.set(model.name, p.versions);
        map.set(p.serverId, server);
      }
    }
    for (const event of list.slice(from)) {
      const server = map.get(event.serverId) ?? new Map<string, TritonVersions>();
      const next = applyEvent(server.get(event.name) ?? [], event);
      if (next.length === 0) server.delete(event.name);
      else server.set(event.name, next);
      map.set(event.serverId, server);
    }
    return map;
  }, [data, list, from]);
  const errors = new Map((data?.tritonFleet.errors ?? []).map((e) => [e.serverId, e.message]));
  return { models, errors, error, refresh: () => refetch({ requestPolicy: 'network-only' }) };
}

/**
 * One state change applied to a model's entries. A null version is the model as a whole (never
 * loaded, or a load in progress); a versioned entry replaces it. `state: null` with a version is
 * that entry leaving the index.
 */
export function applyEvent(versions: TritonVersions, event: StateEvent): TritonVersions {
  const entry: DashboardTritonVersionFragment = { version: event.version, state: event.state, reason: event.reason };
  if (event.state === null && event.reason === 'removed from the repository') return versions.filter((v) => v.version !== event.version);
  if (event.version === null) return [...versions.filter((v) => v.version !== null), entry];
  return [...versions.filter((v) => v.version !== null && v.version !== event.version), entry].sort((a, b) => Number(a.version) - Number(b.version));
}

export const isReady = (versions: TritonVersions) => versions.some((v) => v.state === 'READY');
export const isBusy = (versions: TritonVersions) => versions.some((v) => v.state === 'LOADING' || v.state === 'UNLOADING');
