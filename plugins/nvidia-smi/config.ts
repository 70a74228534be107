import { z } from '../../core/plugin-api.ts';

const int = (min: number, max: number) => z.number({ error: `expected an integer from ${min} to ${max}` }).int(`expected an integer from ${min} to ${max}`).min(min, `expected an integer from ${min} to ${max}`).max(max, `expected an integer from ${min} to ${max}`);

/**
 * `plugins.nvidia-smi` in the config file.
 *
 * @see docs/gpus.md
 */
export const nvidiaSmiConfigSchema = z.strictObject({
  /**
   * The nvidia-smi executable: a name looked up on PATH, or a path.
   * @default `nvidia-smi`
   */
  bin: z.string().min(1, 'expected an executable name or path').default('nvidia-smi'),
  /**
   * Milliseconds between samples (`Subscription.gpuStats`, history, the free rule).
   * @default 1000
   */
  intervalMs: int(100, 3_600_000).default(1000),
  /**
   * A GPU counts as free only while its `memory.used` is below this many MiB. 512 sits above what
   * the driver and an idle display keep on a card (tens to a few hundred MiB) and far below any
   * loaded model; peers use floors of 400–512 MiB.
   * @default 512
   */
  freeMemoryMiB: int(1, 1_048_576).default(512),
  /**
   * Samples kept per GPU for `Gpu.history` (300 = five minutes at the default interval).
   * @default 300
   */
  historySize: int(1, 100_000).default(300),
  /**
   * `loop`: one long-lived `nvidia-smi --loop-ms` per query, read line by line (measured cheapest;
   * see docs/gpus.md). `spawn`: run nvidia-smi once per interval.
   * @default `loop`
   */
  mode: z.enum(['loop', 'spawn']).default('loop'),
  /**
   * A one-shot nvidia-smi run (or a loop that stops sending samples for this long) is a failure.
   * @default 10000
   */
  timeoutMs: int(100, 600_000).default(10_000),
});

export type NvidiaSmiConfig = z.output<typeof nvidiaSmiConfigSchema>;
