import type { TritonMetrics } from './types.ts';

/** One sample of the Prometheus text format: `name{label="v",…} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the samples of a Prometheus text exposition (comments skipped; `%f` and integer values alike). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = sampleLine.exec(line.trim());
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(labelPair)) labels[key!] = value!.replace(/\\(.)/g, '$1');
    const value = Number(match[3]);
    if (!Number.isNaN(value)) samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** Triton's per-GPU and per-model metrics (`nv_gpu_*`, `nv_inference_*`). */
export function tritonMetrics(text: string, scrapedAt = new Date()): TritonMetrics {
  const gpus = new Map<string, TritonMetrics['gpus'][number]>();
  const models = new Map<string, TritonMetrics['models'][number]>();
  const gpu = (uuid: string) => {
    let g = gpus.get(uuid);
    if (!g) gpus.set(uuid, (g = { uuid, utilization: null, memoryTotalBytes: null, memoryUsedBytes: null, powerWatts: null }));
    return g;
  };
  const model = (name: string, version: string) => {
    const key = `${name}\u0000${version}`;
    let m = models.get(key);
    if (!m) models.set(key, (m = { model: name, version, inferenceCount: 0, requestSuccess: 0, requestFailure: 0, executionCount: 0 }));
    return m;
  };
  for (const { name, labels, value } of parsePrometheus(text)) {
    if (labels.gpu_uuid !== undefined) {
      if (name === 'nv_gpu_utilization') gpu(labels.gpu_uuid).utilization = value;
      else if (name === 'nv_gpu_memory_total_bytes') gpu(labels.gpu_uuid).memoryTotalBytes = value;
      else if (name === 'nv_gpu_memory_used_bytes') gpu(labels.gpu_uuid).memoryUsedBytes = value;
      else if (name === 'nv_gpu_power_usage') gpu(labels.gpu_uuid).powerWatts = value;
    } else if (labels.model !== undefined) {
      const m = model(labels.model, labels.version ?? '');
      if (name === 'nv_inference_count') m.inferenceCount += value;
      else if (name === 'nv_inference_request_success') m.requestSuccess += value;
      // Newer builds split failures by `reason`: the sum is the old single counter.
      else if (name === 'nv_inference_request_failure') m.requestFailure += value;
      else if (name === 'nv_inference_exec_count') m.executionCount += value;
    }
  }
  return { scrapedAt, gpus: [...gpus.values()], models: [...models.values()] };
}
