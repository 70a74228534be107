import { isIP } from 'node:net';
import { absolutePathArg, expandHome, z } from '../../core/plugin-api.ts';
import { validateVllmArgs } from './vllm-args.ts';

const positiveInt = z.number().int('expected a positive integer').positive('expected a positive integer');

/**
 * `plugins.vllm-podman` in the config file.
 * @see docs/vllm-podman.md
 */
export const vllmPodmanConfigSchema = z.strictObject({
  /** The podman executable. @default `podman` */
  podmanPath: z.string().min(1).default('podman'),
  /** The vLLM image. It must already be in local storage unless `pull` allows pulling. */
  image: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/i, 'expected an image reference such as docker.io/vllm/vllm-openai:v0.11.0')
    .default('docker.io/vllm/vllm-openai:latest'),
  /** podman's `--pull` policy. `never` (the default) fails at once when the image is missing. */
  pull: z.enum(['never', 'missing', 'newer', 'always']).default('never'),
  /**
   * Overrides the image's entrypoint, for images without `ENTRYPOINT ["vllm", "serve"]`
   * (e.g. `["/opt/app-root/bin/vllm", "serve"]` for RHEL AI images).
   */
  entrypoint: z.array(z.string().min(1)).min(1).optional(),
  /** Model paths must resolve (after symlinks) inside one of these directories. */
  modelRoots: z.array(absolutePathArg).default(['~/.cache/instructlab/models', '~/.local/share/instructlab/checkpoints'].map(expandHome)),
  /** Address vLLM listens on (`--host`); with host networking, loopback keeps it off the network. */
  host: z.string().refine((h) => isIP(h) !== 0, 'expected an IP address').default('127.0.0.1'),
  /**
   * How leased GPUs reach the container: `cdi` adds `--device nvidia.com/gpu=<i>` per leased GPU;
   * `none` leases nothing and adds no device (hosts without GPUs, tests).
   */
  deviceMode: z.enum(['cdi', 'none']).default('cdi'),
  /** vLLM arguments for every server; a server's own value for a flag replaces the default. */
  defaultArgs: z
    .array(z.string())
    .default([])
    .superRefine((args, ctx) => {
      try {
        validateVllmArgs(args);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  /** `--shm-size` of each container (NCCL and tensor parallelism need shared memory). */
  shmSize: z.string().regex(/^\d+[bkmg]?$/i, 'expected a size such as 10g').default('10g'),
  /** Seconds `podman stop` waits after SIGTERM before SIGKILL. */
  stopTimeoutSeconds: z.number().int().min(0).max(600).default(10),
  /** How often containers are listed and compared with the servers backplane tracks. */
  reconcileIntervalMs: positiveInt.default(30_000),
  /** How often loading servers are probed (`/health`, `/v1/models`). */
  probeIntervalMs: positiveInt.default(1_000),
  /** A server still loading after this long is failed and its container stopped. */
  loadTimeoutMs: positiveInt.default(30 * 60_000),
  /** Log lines kept in the message of a failed server. */
  failureLogLines: z.number().int().min(0).max(500).default(20),
  /** Timeout of each podman command (run, stop, ps…). */
  commandTimeoutMs: positiveInt.default(120_000),
});

export type VllmPodmanConfig = z.output<typeof vllmPodmanConfigSchema>;
