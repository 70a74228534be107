import { InputError } from '../../core/plugin-api.ts';

/** Checks one value; returns an error text, or undefined when it is fine. */
type ValueCheck = (value: string) => string | undefined;

const int = (min: number, max: number): ValueCheck => (v) =>
  /^-?\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `expected an integer from ${min} to ${max}`;
const float = (min: number, max: number): ValueCheck => (v) =>
  /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `expected a number from ${min} to ${max}`;
const oneOf = (...values: string[]): ValueCheck => (v) => (values.includes(v) ? undefined : `expected one of ${values.join(', ')}`);
const splits: ValueCheck = (v) => (/^\d+(\.\d+)?([,/]\d+(\.\d+)?)*$/.test(v) ? undefined : 'expected numbers separated by "," such as 3,1');
const cacheTypes = oneOf('f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'iq4_nl', 'q5_0', 'q5_1');

/**
 * llama-server flags a caller may add, with aliases resolved to one spelling and a check for the
 * value (`null`: a switch). Anything else is refused: flags that name files, hosts, ports, keys or
 * downloads (`--model-url`, `-hf`, `--api-key`, `--ssl-*`, `--path`, `--slot-save-path`) could
 * escape what the plugin confines, and the ones it sets itself are options of the instance.
 */
export const allowedLlamaArgs: Readonly<Record<string, ValueCheck | null>> = {
  '--batch-size': int(1, 1_048_576),
  '--ubatch-size': int(1, 1_048_576),
  '--threads-batch': int(-1, 1024),
  '--threads-http': int(-1, 1024),
  '--flash-attn': oneOf('on', 'off', 'auto'),
  '--cache-type-k': cacheTypes,
  '--cache-type-v': cacheTypes,
  '--rope-scaling': oneOf('none', 'linear', 'yarn'),
  '--rope-freq-base': float(0, 1e9),
  '--rope-freq-scale': float(0, 1e6),
  '--yarn-orig-ctx': int(0, 10_000_000),
  '--split-mode': oneOf('none', 'layer', 'row'),
  '--tensor-split': splits,
  '--main-gpu': int(0, 1023),
  '--n-predict': int(-2, 10_000_000),
  '--keep': int(-1, 10_000_000),
  '--seed': int(-1, 4_294_967_295),
  '--temp': float(0, 100),
  '--top-k': int(0, 1_000_000),
  '--top-p': float(0, 1),
  '--min-p': float(0, 1),
  '--repeat-penalty': float(0, 100),
  '--cache-reuse': int(0, 10_000_000),
  '--timeout': int(1, 86_400),
  '--pooling': oneOf('none', 'mean', 'cls', 'last', 'rank'),
  '--reasoning-format': oneOf('none', 'deepseek', 'deepseek-legacy', 'auto'),
  '--reasoning-budget': int(-1, 10_000_000),
  '--numa': oneOf('distribute', 'isolate', 'numactl'),
  '--load-mode': oneOf('auto', 'none', 'mmap', 'mlock', 'mmap+mlock', 'dio'),
  // Older llama.cpp's spelling of --load-mode (the binary refuses what it does not know).
  '--mlock': null,
  '--no-mmap': null,
  '--cont-batching': null,
  '--no-cont-batching': null,
  '--embeddings': null,
  '--reranking': null,
  '--jinja': null,
  '--no-webui': null,
  '--no-kv-offload': null,
  '--no-warmup': null,
  '--swa-full': null,
  '--kv-unified': null,
  '--context-shift': null,
  '--no-context-shift': null,
  '--no-slots': null,
  '--verbose': null,
};

/** Short spellings llama-server accepts for the allowed flags. */
const aliases: Readonly<Record<string, string>> = {
  '-b': '--batch-size',
  '-lm': '--load-mode',
  '-ub': '--ubatch-size',
  '-tb': '--threads-batch',
  '-fa': '--flash-attn',
  '-ctk': '--cache-type-k',
  '-ctv': '--cache-type-v',
  '-sm': '--split-mode',
  '-ts': '--tensor-split',
  '-mg': '--main-gpu',
  '-n': '--n-predict',
  '-s': '--seed',
  '-to': '--timeout',
  '-cb': '--cont-batching',
  '-nocb': '--no-cont-batching',
  '-nkvo': '--no-kv-offload',
  '--embedding': '--embeddings',
  '--rerank': '--reranking',
  '-v': '--verbose',
};

/** Flags that are instance options (or set by the plugin): the error says which option to use. */
const managed: Readonly<Record<string, string>> = {
  '-m': 'modelPath',
  '--model': 'modelPath',
  '--host': 'the plugin config (host)',
  '--port': 'port',
  '-t': 'threads',
  '--threads': 'threads',
  '-c': 'ctxSize',
  '--ctx-size': 'ctxSize',
  '-ngl': 'gpuLayers',
  '--gpu-layers': 'gpuLayers',
  '--n-gpu-layers': 'gpuLayers',
  '-np': 'parallel',
  '--parallel': 'parallel',
  '-a': 'aliases',
  '--alias': 'aliases',
  '--metrics': 'nothing: the plugin always sets it',
};

const maxArgs = 64;

/**
 * Validates extra llama-server arguments against {@link allowedLlamaArgs}. Accepts `--flag value`
 * and `--flag=value` and short aliases; returns canonical tokens (`['--flash-attn', 'on']`).
 * Throws an {@link InputError} naming the first bad argument.
 */
export function validateLlamaArgs(args: readonly string[]): string[] {
  if (args.length > maxArgs) throw new InputError(`Too many extra llama-server arguments (at most ${maxArgs})`);
  const out: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const token = args[i];
    if (!token.startsWith('-')) throw new InputError(`Unexpected llama-server argument '${token}': expected a flag`);
    const eq = token.indexOf('=');
    const raw = eq === -1 ? token : token.slice(0, eq);
    if (managed[raw]) throw new InputError(`llama-server flag '${raw}' is set by backplane: use ${managed[raw]}`, { details: { flag: raw } });
    const flag = aliases[raw] ?? raw;
    if (!Object.hasOwn(allowedLlamaArgs, flag)) {
      throw new InputError(`llama-server flag '${raw}' is not allowed (allowed: ${Object.keys(allowedLlamaArgs).join(', ')})`, { details: { flag: raw } });
    }
    if (seen.has(flag)) throw new InputError(`llama-server flag '${flag}' is given twice`, { details: { flag } });
    seen.add(flag);
    const check = allowedLlamaArgs[flag];
    if (check === null) {
      if (eq !== -1) throw new InputError(`llama-server flag '${flag}' takes no value`, { details: { flag } });
      out.push(flag);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = token.slice(eq + 1);
    else {
      value = args[i + 1];
      i++;
    }
    if (value === undefined || value === '') throw new InputError(`llama-server flag '${flag}' needs a value`, { details: { flag } });
    const problem = check(value);
    if (problem) throw new InputError(`Invalid value '${value}' for llama-server flag '${flag}': ${problem}`, { details: { flag } });
    out.push(flag, value);
  }
  return out;
}

/** What one run of llama-server needs besides the extra args. */
export interface LlamaServerArgsInput {
  modelPath: string;
  host: string;
  port: number;
  /** The instance name: always its first alias, so `/v1/models` and responses name it. */
  name: string;
  aliases: readonly string[];
  threads: number | null;
  ctxSize: number;
  gpuLayers: number;
  parallel: number;
  extraArgs: readonly string[];
}

/** The llama-server argv (without the executable). `--metrics` is always on, for tokens/s. */
export function buildLlamaServerArgs(input: LlamaServerArgsInput): string[] {
  const args = ['--model', input.modelPath, '--host', input.host, '--port', String(input.port)];
  args.push('--alias', [input.name, ...input.aliases.filter((a) => a !== input.name)].join(','));
  if (input.threads !== null) args.push('--threads', String(input.threads));
  args.push('--ctx-size', String(input.ctxSize), '--n-gpu-layers', String(input.gpuLayers), '--parallel', String(input.parallel), '--metrics');
  return [...args, ...input.extraArgs];
}
