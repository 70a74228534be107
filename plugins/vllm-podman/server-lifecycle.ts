import { ConflictError, isProcessError, type GpuLease } from '../../core/plugin-api.ts';
import { buildRunArgs, labelKeys } from './container-args.ts';
import { errorText, leaseHolder, serverJobKind, type VllmContext } from './context.ts';
import { assertPortFree } from './port-check.ts';
import { isActive, type ServerMonitor } from './server-monitor.ts';
import type { ServerState } from './server-registry.ts';
import { containerNameFor, type GpuRequest } from './types.ts';
import { mergeVllmArgs } from './vllm-args.ts';

/** A start request after validation: real model path, checked args. */
export interface ValidStartSpec {
  name: string;
  modelPath: string;
  port: number;
  /** The server's own vLLM args (config defaults are added at run time). */
  args: string[];
  /** Config `defaultArgs`, validated. */
  defaultArgs: string[];
  gpuRequest: GpuRequest | null;
  labels: Record<string, string>;
}

/**
 * Caller holds the mutex. Starts a run of a server: checks that the name and port are free,
 * leases GPUs, records a `v-` job and the server, then `podman run`. Resolves once the
 * container runs (status `loading`); the monitor takes it from there.
 */
export async function startServer(ctx: VllmContext, monitor: ServerMonitor, spec: ValidStartSpec): Promise<ServerState> {
  const { registry, podman, config, jobs, gpus, logger } = ctx;
  const existing = registry.get(spec.name);
  if (existing && isActive(existing)) {
    throw new ConflictError(`vLLM server '${spec.name}' is already ${existing.status}`, {
      details: { name: spec.name, status: existing.status, jobId: existing.jobId, port: existing.port },
    });
  }
  const clash = registry.list().find((s) => s.name !== spec.name && isActive(s) && s.port === spec.port);
  if (clash) throw new ConflictError(`Port ${spec.port} is used by vLLM server '${clash.name}'`, { details: { port: spec.port, server: clash.name } });
  await assertPortFree(config.host, spec.port);

  const containerName = containerNameFor(spec.name);
  let lease: GpuLease | undefined;
  if (config.deviceMode === 'cdi') {
    await gpus.releaseHolder(leaseHolder(spec.name));
    const request = spec.gpuRequest ?? { count: 1 };
    lease = await gpus.acquire({ ...(request.indices ? { indices: request.indices } : { count: request.count ?? 1 }), holder: leaseHolder(spec.name), wait: false });
  }
  const runArgs = buildRunArgs({
    config,
    instanceId: ctx.instanceId,
    name: spec.name,
    containerName,
    modelPath: spec.modelPath,
    port: spec.port,
    deviceArgs: lease?.podmanDeviceArgs ?? [],
    vllmArgs: mergeVllmArgs(spec.defaultArgs, spec.args),
  });
  const now = new Date();
  let job;
  try {
    job = await jobs.createGroup({ idPrefix: 'v', kind: serverJobKind, command: podman.path, args: runArgs, labels: { ...spec.labels, served_model_name: spec.name } });
  } catch (error) {
    await gpus.releaseHolder(leaseHolder(spec.name));
    throw error;
  }
  const state: ServerState = {
    name: spec.name,
    desired: 'running',
    status: 'starting',
    message: 'creating the container',
    modelPath: spec.modelPath,
    port: spec.port,
    host: config.host,
    image: config.image,
    args: spec.args,
    gpuRequest: spec.gpuRequest,
    gpus: lease?.indices ?? [],
    jobId: job.id,
    containerName,
    containerId: null,
    exitCode: null,
    labels: spec.labels,
    logCursor: null,
    createdAt: existing?.createdAt ?? now,
    startedAt: now,
    readyAt: null,
    stoppedAt: null,
  };
  await registry.put(state);

  let containerId: string;
  try {
    containerId = await runReplacingLeftover(ctx, containerName, runArgs);
  } catch (error) {
    // A failed run can leave a `Created` container behind (e.g. an unresolvable CDI device);
    // a CONFLICT means the name belongs to someone else's container, which stays.
    if (!(error instanceof ConflictError)) await podman.remove(containerName).catch(() => undefined);
    await gpus.releaseHolder(leaseHolder(spec.name));
    // The job's log (not the error message) is where podman's own words belong.
    const stderr = isProcessError(error) && error.stderrTail.trim() ? error.stderrTail.replace(/\n?$/, '\n') : '';
    await jobs.appendLog(job.id, `${stderr}[backplane] ${errorText(error)}\n`).catch(() => undefined);
    await jobs.settle(job.id, { status: 'failed', reason: errorText(error) }).catch(() => undefined);
    await registry.setStatus(spec.name, 'failed', { message: errorText(error) });
    throw error;
  }
  const started = await registry.setStatus(spec.name, 'loading', { containerId, message: 'waiting for GET /health' });
  logger.info('vLLM server started', { server: spec.name, port: spec.port, job: job.id, container: containerId.slice(0, 12), gpus: started.gpus });
  monitor.logs.follow(started);
  monitor.probeEarly(spec.name, job.id);
  return started;
}

/**
 * `podman run`, optimistically: the name is normally free (runs remove their container when they
 * end). When podman says it is taken, a leftover of this daemon (an ended run, a container it no
 * longer tracks) is removed and the run retried; anyone else's container is left alone.
 */
async function runReplacingLeftover(ctx: VllmContext, containerName: string, runArgs: string[]): Promise<string> {
  try {
    return await ctx.podman.run(runArgs);
  } catch (error) {
    if (!/already in use/.test(errorText(error))) throw error;
    const leftover = await ctx.podman.inspect(containerName);
    if (leftover && leftover.labels[labelKeys.instance] !== ctx.instanceId) {
      throw new ConflictError(`A container named '${containerName}' exists and does not belong to this backplane`);
    }
    ctx.logger.warn('removing a leftover container before starting', { container: containerName, state: leftover?.state });
    await ctx.podman.remove(containerName);
    return ctx.podman.run(runArgs);
  }
}

/**
 * Caller holds the mutex. Stops a server's container and removes it. `wasActive` is false when
 * nothing was starting, loading or running (a leftover container is still removed).
 */
export async function stopServer(ctx: VllmContext, monitor: ServerMonitor, name: string): Promise<{ state: ServerState; wasActive: boolean } | undefined> {
  const state = ctx.registry.get(name);
  if (!state) return undefined;
  const wasActive = isActive(state);
  const current = await ctx.registry.patch(name, { desired: 'stopped' });
  if (wasActive) await monitor.finish(current, 'stopped', 'Stopped on request', null);
  else await ctx.podman.remove(state.containerName).catch(() => undefined);
  return { state: ctx.registry.get(name)!, wasActive };
}
