import { fileURLToPath } from 'node:url';
import { UnavailableError, type PluginServices, type RunOptions, type RunResult } from '../../core/plugin-api.ts';
import type { IlabConfig } from './config.ts';
import type { IlabPaths } from './paths.ts';

/** How to start ilab (or the simulator) for one command. */
export interface IlabInvocation {
  /** The executable the job service runs. */
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string | undefined;
  /** How logs name the executable (`/usr/bin/ilab`, or `ilab (mock)`). */
  display: string;
}

/** Runs `ilab` (real mode) or the bundled simulator (mock mode), and tracks whether it exists. */
export interface IlabCli {
  readonly mode: 'real' | 'mock';
  /** Resolves the executable. UNAVAILABLE (and the plugin reported degraded) when it is missing. */
  invocation(args: readonly string[]): Promise<IlabInvocation>;
  /** Runs a short command (`model list`) to completion. */
  run(args: readonly string[], options?: { timeoutMs?: number; decode?: RunOptions['decode'] }): Promise<RunResult>;
}

const simulatorPath = fileURLToPath(new URL('./mock/ilab-sim.mjs', import.meta.url));

/** The mode note shown in `Query.plugins`. */
export const mockModeMessage = 'mock mode: ilab commands run the bundled simulator (no GPUs or InstructLab needed)';

export function createIlabCli({ config, paths, services }: { config: IlabConfig; paths: IlabPaths; services: Pick<PluginServices, 'processes' | 'status' | 'logger'> }): IlabCli {
  let degraded: string | undefined;

  const simulatorEnv = (): Record<string, string> => ({
    ILAB_SIM_HOME: paths.home,
    ILAB_SIM_MODELS_DIR: paths.models,
    ILAB_SIM_DATASETS_DIR: paths.datasets,
    ILAB_SIM_CHECKPOINTS_DIR: paths.checkpoints,
    ILAB_SIM_STEP_MS: String(config.mock.stepMs),
  });

  async function invocation(args: readonly string[]): Promise<IlabInvocation> {
    if (config.mode === 'mock') {
      return { command: process.execPath, args: [simulatorPath, ...args], env: simulatorEnv(), cwd: paths.workDir, display: 'ilab (mock)' };
    }
    const found = await services.processes.which(config.bin);
    if (!found) {
      const reason = `ilab is not available: '${config.bin}' was not found${config.bin.includes('/') ? '' : ' on PATH'}; install InstructLab, set plugins.ilab.bin, or set plugins.ilab.mode: mock`;
      if (degraded !== reason) {
        degraded = reason;
        services.status.setDegraded(reason);
        services.logger.warn('ilab missing; the plugin is degraded', { bin: config.bin });
      }
      throw new UnavailableError(reason);
    }
    if (degraded !== undefined) {
      degraded = undefined;
      services.status.setReady();
      services.logger.info('ilab found again; the plugin is ready', { bin: found });
    }
    return { command: found, args: [...args], env: {}, cwd: paths.workDir, display: found };
  }

  return {
    mode: config.mode,
    invocation,
    async run(args, { timeoutMs = config.listTimeoutMs, decode } = {}) {
      const call = await invocation(args);
      return services.processes.run(call.command, call.args, { cwd: call.cwd, env: call.env, timeoutMs, decode, displayArgv: ['ilab', ...args] });
    },
  };
}
