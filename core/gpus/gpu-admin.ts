import { NotAllowedError, NotFoundError } from '../errors.ts';
import type { AuthInfo } from '../graphql/context.ts';
import { hasScope } from '../graphql/required-scope.ts';
import type { GpuAdmin } from '../services/gpu-service.ts';
import type { Logger } from '../services/logger-service.ts';
import type { GpuManager } from './gpu-manager.ts';

/** The daemon-wide GPU powers, acting for one GraphQL caller (`ctx.core.gpuAdmin`). */
export function createGpuAdmin(manager: GpuManager, auth: AuthInfo, logger: Logger): GpuAdmin {
  return {
    async releaseLease(leaseId) {
      // The field asks for `admin` too; this holds for any resolver that reaches the power.
      if (!hasScope(auth.scopes, 'admin')) throw new NotAllowedError('Ending another holder’s GPU lease needs the admin scope');
      const lease = await manager.endLease(leaseId);
      if (!lease) throw new NotFoundError(`No GPU lease with id ${leaseId}`);
      logger.info('GPU lease released by request', { lease: leaseId, indices: lease.indices, holder: lease.holder, owner: lease.owner, by: auth.principal });
      return lease;
    },
  };
}
