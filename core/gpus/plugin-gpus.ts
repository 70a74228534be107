import { NotAllowedError } from '../errors.ts';
import type { GpuInventoryService, GpuService } from '../services/gpu-service.ts';
import type { GpuManager } from './gpu-manager.ts';

/** The gpu service a plugin's init receives: reads everything, ends only its own leases. */
export function forPluginGpus(manager: GpuManager, pluginId: string): GpuService {
  return {
    list: () => manager.list(),
    isFree: (gpu) => manager.isFree(gpu),
    leaseFor: (index) => manager.leaseFor(index),
    leases: (filter) => (filter?.own ? manager.leases().filter((lease) => lease.owner === pluginId) : manager.leases()),
    acquire: (request) => manager.acquire(request, pluginId),
    async release(leaseId) {
      const lease = manager.lease(leaseId);
      if (!lease) return;
      if (lease.owner !== pluginId) {
        throw new NotAllowedError(`GPU lease ${leaseId} belongs to ${lease.owner === 'core' ? 'core' : `plugin '${lease.owner}'`}; a plugin ends only its own leases`, {
          details: { lease: leaseId, owner: lease.owner },
        });
      }
      await manager.release(leaseId);
    },
    releaseHolder: (holder) => manager.releaseHolder(holder, pluginId),
  };
}

/** The inventory capability of a plugin; the kernel withdraws the source when the plugin stops. */
export function forPluginGpuInventory(manager: GpuManager, pluginId: string): GpuInventoryService {
  return { provide: (source) => manager.setInventorySource(source, pluginId) };
}
