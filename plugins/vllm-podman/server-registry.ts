import type { DatabaseService, PubSubService } from '../../core/plugin-api.ts';
import { VllmServerEntity, type VllmServerRow } from './entities.ts';
import type { VllmServer, VllmServerStatus } from './types.ts';

/** A server with the bookkeeping callers never see. */
export interface ServerState extends VllmServer {
  desired: 'running' | 'stopped';
  logCursor: string | null;
}

/** The pubsub topic of server changes (`vllm-podman:servers` from outside the plugin). */
export const serversTopic = 'servers';

/**
 * The servers the plugin tracks: kept in memory for reads, written through to `vllm_servers`
 * on every change, and published on the `servers` topic when anything callers see changes.
 */
export class ServerRegistry {
  readonly #servers = new Map<string, ServerState>();
  readonly #db: DatabaseService;
  readonly #pubsub: PubSubService;
  readonly #onChange: ((state: ServerState) => void) | undefined;

  /** `onChange` sees every server after it changed (publishing its model endpoint). */
  constructor({ db, pubsub, onChange }: { db: DatabaseService; pubsub: PubSubService; onChange?: (state: ServerState) => void }) {
    this.#db = db;
    this.#pubsub = pubsub;
    this.#onChange = onChange;
  }

  async load(): Promise<void> {
    const rows = await this.#db.em().find(VllmServerEntity, {}, { disableIdentityMap: true });
    for (const row of rows) this.#servers.set(row.name, fromRow(row));
    for (const state of this.#servers.values()) this.#onChange?.(state);
  }

  get(name: string): ServerState | undefined {
    return this.#servers.get(name);
  }

  /** By name. */
  list(): ServerState[] {
    return [...this.#servers.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Inserts or replaces a server, then publishes it. */
  async put(state: ServerState): Promise<ServerState> {
    const row = { ...toRow(state), updatedAt: new Date() };
    const em = this.#db.em();
    const updated = await em.nativeUpdate(VllmServerEntity, { name: state.name }, row);
    if (updated === 0) await em.insert(VllmServerEntity, row);
    this.#servers.set(state.name, state);
    this.#pubsub.publish(serversTopic, snapshot(state));
    this.#onChange?.(state);
    return state;
  }

  /** Applies a change to a tracked server; see {@link put}. */
  async patch(name: string, change: Partial<ServerState>): Promise<ServerState> {
    const current = this.#servers.get(name);
    if (!current) throw new Error(`vLLM server '${name}' is not tracked`);
    return this.put({ ...current, ...change });
  }

  /** Moves a server to `status`, stamping the matching time. */
  setStatus(name: string, status: VllmServerStatus, change: Partial<ServerState> = {}): Promise<ServerState> {
    const now = new Date();
    const stamps: Partial<ServerState> = status === 'running' ? { readyAt: now } : status === 'stopped' || status === 'failed' ? { stoppedAt: now } : {};
    return this.patch(name, { ...stamps, ...change, status });
  }

  /** Only the log cursor: frequent, and invisible to callers, so nothing is published. */
  async saveCursor(name: string, cursor: string): Promise<void> {
    const current = this.#servers.get(name);
    if (!current) return;
    current.logCursor = cursor;
    await this.#db.em().nativeUpdate(VllmServerEntity, { name }, { logCursor: cursor });
  }

  async delete(name: string): Promise<void> {
    await this.#db.em().nativeDelete(VllmServerEntity, { name });
    const state = this.#servers.get(name);
    this.#servers.delete(name);
    if (state) this.#onChange?.({ ...state, status: 'stopped' });
  }
}

/** A copy callers may keep: later changes to the server do not show through it. */
export function snapshot(state: ServerState): VllmServer {
  const { desired: _desired, logCursor: _cursor, ...server } = state;
  return { ...server, args: [...server.args], gpus: [...server.gpus], labels: { ...server.labels } };
}

function fromRow(row: VllmServerRow): ServerState {
  return {
    name: row.name,
    desired: row.desired === 'running' ? 'running' : 'stopped',
    status: row.status as VllmServerStatus,
    message: row.message ?? null,
    modelPath: row.modelPath,
    port: Number(row.port),
    host: row.host,
    image: row.image,
    args: row.args ?? [],
    gpuRequest: row.gpuRequest ?? null,
    gpus: row.gpus ?? [],
    jobId: row.jobId ?? null,
    containerName: row.containerName,
    containerId: row.containerId ?? null,
    exitCode: row.exitCode == null ? null : Number(row.exitCode),
    labels: row.labels ?? {},
    logCursor: row.logCursor ?? null,
    createdAt: row.createdAt,
    startedAt: row.startedAt ?? null,
    readyAt: row.readyAt ?? null,
    stoppedAt: row.stoppedAt ?? null,
  };
}

function toRow(state: ServerState): Omit<VllmServerRow, 'updatedAt'> {
  return { ...state } as Omit<VllmServerRow, 'updatedAt'>;
}
