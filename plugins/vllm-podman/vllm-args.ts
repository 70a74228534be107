import { InputError } from '../../core/plugin-api.ts';

/** Checks one value; returns an error text, or undefined when it is fine. */
type ValueCheck = (value: string) => string | undefined;

const int = (min: number, max: number): ValueCheck => (v) =>
  /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `expected an integer from ${min} to ${max}`;
const float = (min: number, max: number, exclusiveMin = false): ValueCheck => (v) => {
  const n = Number(v);
  const ok = /^\d+(\.\d+)?$/.test(v) && (exclusiveMin ? n > min : n >= min) && n <= max;
  return ok ? undefined : `expected a number ${exclusiveMin ? 'above' : 'from'} ${min} to ${max}`;
};
const oneOf = (...values: string[]): ValueCheck => (v) => (values.includes(v) ? undefined : `expected one of ${values.join(', ')}`);

/**
 * The vLLM flags a caller may add, each with its value check (`null`: a switch without value).
 * Anything else is refused: flags that name files, hosts or secrets could escape the sandbox
 * the plugin builds (read-only model mount, loopback port).
 */
export const allowedVllmArgs: Readonly<Record<string, ValueCheck | null>> = {
  '--max-model-len': int(1, 10_000_000),
  '--gpu-memory-utilization': float(0, 1, true),
  '--dtype': oneOf('auto', 'half', 'float16', 'bfloat16', 'float', 'float32'),
  '--tensor-parallel-size': int(1, 64),
  '--pipeline-parallel-size': int(1, 64),
  '--max-num-seqs': int(1, 100_000),
  '--max-num-batched-tokens': int(1, 10_000_000),
  '--load-format': oneOf('auto', 'pt', 'safetensors', 'npcache', 'dummy', 'gguf', 'bitsandbytes', 'sharded_state'),
  '--quantization': oneOf('awq', 'gptq', 'fp8', 'bitsandbytes', 'gguf', 'compressed-tensors', 'marlin', 'awq_marlin', 'gptq_marlin'),
  '--kv-cache-dtype': oneOf('auto', 'fp8', 'fp8_e4m3', 'fp8_e5m2'),
  '--seed': int(0, 2 ** 31 - 1),
  '--swap-space': float(0, 1024),
  '--block-size': oneOf('8', '16', '32', '64', '128'),
  '--max-logprobs': int(0, 1000),
  '--config-format': oneOf('auto', 'hf', 'mistral'),
  '--tokenizer-mode': oneOf('auto', 'slow', 'mistral'),
  '--enforce-eager': null,
  '--trust-remote-code': null,
  '--enable-prefix-caching': null,
  '--disable-log-stats': null,
  '--disable-log-requests': null,
};

/** Flags backplane sets itself; a caller giving them is told so. */
const reservedArgs = new Set(['--model', '--served-model-name', '--host', '--port', '--uds', '--download-dir', '--api-key']);

const maxArgs = 64;

/**
 * Validates extra vLLM arguments against {@link allowedVllmArgs}. Accepts `--flag value` and
 * `--flag=value`; returns them as separate tokens. Throws an {@link InputError} naming the first
 * bad argument.
 */
export function validateVllmArgs(args: readonly string[]): string[] {
  if (args.length > maxArgs) throw new InputError(`Too many vLLM arguments (at most ${maxArgs})`);
  const out: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (reservedArgs.has(flag)) throw new InputError(`vLLM argument '${flag}' is set by backplane and cannot be given`);
    if (!Object.hasOwn(allowedVllmArgs, flag)) {
      throw new InputError(`vLLM argument '${flag.slice(0, 64)}' is not allowed; allowed: ${Object.keys(allowedVllmArgs).join(', ')}`);
    }
    if (seen.has(flag)) throw new InputError(`vLLM argument '${flag}' is given twice`);
    seen.add(flag);
    const check = allowedVllmArgs[flag];
    if (check === null) {
      if (eq !== -1) throw new InputError(`vLLM argument '${flag}' takes no value`);
      out.push(flag);
      continue;
    }
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new InputError(`vLLM argument '${flag}' needs a value`);
    const problem = check(value);
    if (problem) throw new InputError(`Invalid value for vLLM argument '${flag}': ${problem}`);
    out.push(flag, value);
  }
  return out;
}

/** Validated defaults followed by validated own args; an own flag replaces the default one. */
export function mergeVllmArgs(defaults: readonly string[], own: readonly string[]): string[] {
  const ownFlags = new Set(own.filter((token) => token.startsWith('--')));
  const kept: string[] = [];
  for (let i = 0; i < defaults.length; i++) {
    const flag = defaults[i];
    const takesValue = allowedVllmArgs[flag] !== null;
    if (!ownFlags.has(flag)) kept.push(...(takesValue ? [flag, defaults[i + 1]] : [flag]));
    if (takesValue) i++;
  }
  return [...kept, ...own];
}
