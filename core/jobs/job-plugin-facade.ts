import type { JobManager } from './job-manager.ts';
import type { JobService } from './job-service.ts';

/**
 * The job service handed to one plugin: what it starts is recorded with the plugin's id, and
 * every call that names a job acts only on the plugin's own jobs (another plugin's id is
 * NOT_FOUND, as if it did not exist). Daemon-wide powers are core's (see job-admin.ts).
 */
export function pluginJobService(manager: JobManager, plugin: string): JobService {
  const owner = { plugin };
  return {
    start: (spec) => manager.startJob(plugin, spec),
    createGroup: (spec) => manager.createGroup(plugin, spec),
    appendLog: (id, text) => manager.appendLog(id, text, owner),
    settle: (id, outcome) => manager.settleGroup(id, outcome, owner),
    get: async (id) => {
      const job = await manager.get(id);
      return job?.plugin === plugin ? job : undefined;
    },
    cancel: (id) => manager.cancel(id, owner),
    wait: (id, options) => manager.wait(id, options?.signal, owner),
    registerProgressParser: (kind, create) => manager.progress.registerKind(plugin, kind, create),
    registerGroupResumer: (kind, resume) => manager.registerGroupResumer(plugin, kind, resume),
    list: (filter) => manager.list({ ...filter, plugin }),
  };
}
