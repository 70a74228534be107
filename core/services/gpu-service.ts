/** The plugin-facing GPU types live in the plugin contract (`@backplane/plugin-api`). */
export type {
  GpuProcess,
  GpuInfo,
  GpuInventorySource,
  GpuLeaseHolder,
  GpuLeaseRequest,
  GpuLease,
  GpuService,
  GpuInventoryService,
  GpuAdmin,
} from '../../packages/plugin-api/src/services/gpus.ts';
