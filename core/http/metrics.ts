import { METHODS } from 'node:http';
import type { PluginState } from '../kernel/plugin-host.ts';

const buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

/** Prometheus text exposition of HTTP traffic, plugin status and process facts. */
export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();
  readonly #startedAt = Date.now() / 1000;

  observe(route: string, method: string, status: number, seconds: number): void {
    // A Go-compatible listener serves any token as a method; labels must stay a bounded set.
    const label = METHODS.includes(method) ? method : 'OTHER';
    const key = `route="${escape(route)}",method="${label}",status="${status}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    const latencyKey = `route="${escape(route)}"`;
    let histogram = this.#latency.get(latencyKey);
    if (!histogram) {
      histogram = { counts: buckets.map(() => 0), sum: 0, count: 0 };
      this.#latency.set(latencyKey, histogram);
    }
    for (let i = 0; i < buckets.length; i++) if (seconds <= buckets[i]) histogram.counts[i]++;
    histogram.sum += seconds;
    histogram.count++;
  }

  render(plugins: readonly PluginState[]): string {
    const lines: string[] = [];
    lines.push('# HELP backplane_http_requests_total HTTP requests by route, method and status.', '# TYPE backplane_http_requests_total counter');
    for (const [labels, value] of this.#requests) lines.push(`backplane_http_requests_total{${labels}} ${value}`);
    lines.push('# HELP backplane_http_request_duration_seconds HTTP request latency by route.', '# TYPE backplane_http_request_duration_seconds histogram');
    for (const [labels, h] of this.#latency) {
      buckets.forEach((le, i) => lines.push(`backplane_http_request_duration_seconds_bucket{${labels},le="${le}"} ${h.counts[i]}`));
      lines.push(`backplane_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
      lines.push(`backplane_http_request_duration_seconds_sum{${labels}} ${h.sum}`);
      lines.push(`backplane_http_request_duration_seconds_count{${labels}} ${h.count}`);
    }
    lines.push('# HELP backplane_plugin_status 1 for the current status of each plugin.', '# TYPE backplane_plugin_status gauge');
    for (const p of plugins) lines.push(`backplane_plugin_status{plugin="${escape(p.id)}",version="${escape(p.version)}",status="${p.status}"} 1`);
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    lines.push(
      '# HELP process_cpu_seconds_total User and system CPU time spent in seconds.',
      '# TYPE process_cpu_seconds_total counter',
      `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
      '# HELP process_resident_memory_bytes Resident memory size in bytes.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${memory.rss}`,
      '# HELP nodejs_heap_used_bytes V8 heap in use, in bytes.',
      '# TYPE nodejs_heap_used_bytes gauge',
      `nodejs_heap_used_bytes ${memory.heapUsed}`,
      '# HELP process_start_time_seconds Start time of the process since the Unix epoch, in seconds.',
      '# TYPE process_start_time_seconds gauge',
      `process_start_time_seconds ${this.#startedAt}`,
    );
    return `${lines.join('\n')}\n`;
  }
}

function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
