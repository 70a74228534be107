import { labelKeys, pluginLabel } from './container-args.ts';
import { errorText, leaseHolderPrefix, type VllmContext } from './context.ts';
import type { PsContainer } from './podman-json.ts';
import { isActive, notStartedStates, type ServerMonitor } from './server-monitor.ts';

/** What one pass did, for logs and benchmarks. */
export interface ReconcileReport {
  containers: number;
  adopted: number;
  settled: number;
  removed: number;
  leasesReleased: number;
}

/**
 * One reconcile pass: lists this daemon's containers (by label) and converges them with the
 * servers in `vllm_servers`. The policy (see docs/vllm-podman.md):
 * - an active server whose container runs is adopted (its log stream re-attached);
 * - an active server whose container has ended, or vanished, is settled (`stopped`/`failed`);
 * - a container no active server owns (an interrupted stop, a lost row) is stopped and removed;
 * - a GPU lease of this plugin whose server is not active is released;
 * - containers of other daemons (another `backplane.instance`) are never touched.
 */
export async function reconcile(ctx: VllmContext, monitor: ServerMonitor): Promise<ReconcileReport> {
  const containers = (await ctx.podman.ps(pluginLabel)).filter((c) => c.labels[labelKeys.instance] === ctx.instanceId);
  const report: ReconcileReport = { containers: containers.length, adopted: 0, settled: 0, removed: 0, leasesReleased: 0 };
  const owned = new Set<string>();
  const healthChecks: string[] = [];

  for (const server of ctx.registry.list()) {
    await ctx.mutex.run(server.name, async () => {
      const state = ctx.registry.get(server.name);
      if (!state || !isActive(state)) return;
      const container = findContainer(containers, state.containerId);
      if (container) owned.add(container.id);
      if (state.desired !== 'running') {
        // A stop was interrupted (daemon crash): finish it.
        await monitor.finish(state, 'stopped', 'Stopped on request', null);
        report.settled++;
        return;
      }
      if (!state.containerId) {
        await monitor.finish(state, 'failed', 'backplane stopped while the container was being created', null);
        report.settled++;
        return;
      }
      if (container?.state === 'running') {
        if (!monitor.logs.isFollowing(state.name)) report.adopted++;
        await monitor.settle(state, container);
        if (state.status === 'running') healthChecks.push(state.name);
        return;
      }
      await monitor.settle(state, container);
      if (!container || !notStartedStates.has(container.state)) report.settled++;
    });
  }

  for (const container of containers) {
    if (owned.has(container.id)) continue;
    const name = container.labels[labelKeys.servedName] ?? container.names[0] ?? container.id;
    const removed = await ctx.mutex.run(name, async () => {
      // Started while this pass ran? Then it is owned after all.
      if (ctx.registry.list().some((s) => s.containerId && container.id.startsWith(s.containerId))) return false;
      await ctx.podman.remove(container.id);
      return true;
    }).catch((error) => {
      ctx.logger.warn('removing an untracked vLLM container failed', { container: container.id.slice(0, 12), error: errorText(error) });
      return false;
    });
    if (removed) {
      report.removed++;
      ctx.logger.warn('removed a vLLM container backplane does not track', { container: container.id.slice(0, 12), name, state: container.state });
    }
  }

  for (const lease of ctx.gpus.leases({ own: true })) {
    if (lease.holder.kind !== 'server' || !lease.holder.id.startsWith(leaseHolderPrefix)) continue;
    const server = ctx.registry.get(lease.holder.id.slice(leaseHolderPrefix.length));
    if (server && isActive(server)) continue;
    await ctx.gpus.release(lease.id);
    report.leasesReleased++;
  }

  await Promise.all(healthChecks.map((name) => monitor.checkRunning(name).catch(() => undefined)));
  return report;
}

function findContainer(containers: PsContainer[], id: string | null): PsContainer | undefined {
  if (!id) return undefined;
  return containers.find((c) => c.id === id || c.id.startsWith(id) || id.startsWith(c.id));
}
