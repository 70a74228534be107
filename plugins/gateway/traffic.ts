const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Seconds of per-second counts kept per app, for the rates dashboards read. */
const window = 60;

interface Histogram {
  labels: string;
  counts: number[];
  sum: number;
  count: number;
}

interface Series {
  labels: string;
  byStatus: Map<number, number>;
  errors: number;
  latency: Histogram;
}

interface AppSeconds {
  /** Unix second of slot 0's last write, per slot. */
  second: number[];
  requests: number[];
  errors: number[];
}

/** One app's traffic as GraphQL reports it. */
export interface AppTraffic {
  app: string;
  requests: number;
  errors: number;
  /** Over the last `seconds` seconds. */
  requestsPerSecond: number;
  errorsPerSecond: number;
  seconds: number;
}

/**
 * Gateway counters: requests and errors (5xx) per app, route and consumer, latency per app and
 * route, retries per app and route, and per-second counts per app for rates. Labels come from
 * configured apps, routes and users (`-` when unknown), so the set stays bounded.
 */
export class Traffic {
  /** app → route → consumer → its counters, label text built once per series. */
  readonly #series = new Map<string, Map<string, Map<string, Series>>>();
  readonly #retries = new Map<string, number>();
  readonly #totals = new Map<string, { requests: number; errors: number }>();
  readonly #seconds = new Map<string, AppSeconds>();
  readonly #now: () => number;

  constructor({ now = Date.now }: { now?: () => number } = {}) {
    this.#now = now;
  }

  observe({ app, route, consumer, status, seconds }: { app: string; route: string; consumer: string; status: number; seconds: number }): void {
    const error = status >= 500;
    const series = this.#seriesOf(app, route, consumer);
    series.byStatus.set(status, (series.byStatus.get(status) ?? 0) + 1);
    if (error) series.errors++;
    const h = series.latency;
    for (let i = 0; i < buckets.length; i++) if (seconds <= buckets[i]) h.counts[i]++;
    h.sum += seconds;
    h.count++;
    let total = this.#totals.get(app);
    if (!total) this.#totals.set(app, (total = { requests: 0, errors: 0 }));
    total.requests++;
    if (error) total.errors++;
    const second = Math.floor(this.#now() / 1000);
    const data = this.#slot(app, second);
    const index = second % window;
    data.requests[index]++;
    if (error) data.errors[index]++;
  }

  retried(app: string, route: string): void {
    inc(this.#retries, `app="${esc(app)}",route="${esc(route)}"`);
  }

  /** Totals and rates over the last `seconds` (at most 60) complete seconds. */
  appTraffic(app: string, seconds = 10): AppTraffic {
    const span = Math.min(window, Math.max(1, Math.floor(seconds)));
    const now = Math.floor(this.#now() / 1000);
    const data = this.#seconds.get(app);
    let requests = 0;
    let errors = 0;
    if (data) {
      for (let i = 0; i < window; i++) {
        const age = now - data.second[i];
        if (age >= 1 && age <= span) {
          requests += data.requests[i];
          errors += data.errors[i];
        }
      }
    }
    const total = this.#totals.get(app) ?? { requests: 0, errors: 0 };
    return { app, requests: total.requests, errors: total.errors, requestsPerSecond: requests / span, errorsPerSecond: errors / span, seconds: span };
  }

  /** Prometheus text exposition, appended to `/metrics`. */
  render(): string {
    const all: Series[] = [];
    for (const routes of this.#series.values()) for (const consumers of routes.values()) for (const series of consumers.values()) all.push(series);
    const lines: string[] = [];
    lines.push('# HELP backplane_gateway_requests_total Gateway requests by app, route, consumer and status.', '# TYPE backplane_gateway_requests_total counter');
    for (const { labels, byStatus } of all) for (const [status, value] of byStatus) lines.push(`backplane_gateway_requests_total{${labels},status="${status}"} ${value}`);
    lines.push('# HELP backplane_gateway_errors_total Gateway requests answered with a 5xx, by app, route and consumer.', '# TYPE backplane_gateway_errors_total counter');
    for (const { labels, errors } of all) if (errors > 0) lines.push(`backplane_gateway_errors_total{${labels}} ${errors}`);
    lines.push('# HELP backplane_gateway_retries_total Attempts the gateway made again, by app and route.', '# TYPE backplane_gateway_retries_total counter');
    for (const [labels, value] of this.#retries) lines.push(`backplane_gateway_retries_total{${labels}} ${value}`);
    lines.push('# HELP backplane_gateway_request_duration_seconds Gateway latency (until the answer ended) by app and route.', '# TYPE backplane_gateway_request_duration_seconds histogram');
    const histograms = new Set(all.map((series) => series.latency));
    for (const h of histograms) {
      const labels = h.labels;
      buckets.forEach((le, i) => lines.push(`backplane_gateway_request_duration_seconds_bucket{${labels},le="${le}"} ${h.counts[i]}`));
      lines.push(`backplane_gateway_request_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`, `backplane_gateway_request_duration_seconds_sum{${labels}} ${h.sum}`, `backplane_gateway_request_duration_seconds_count{${labels}} ${h.count}`);
    }
    return `${lines.join('\n')}\n`;
  }

  /** Forgets a deleted app's per-second counts (its counters stay, as Prometheus expects). */
  forget(app: string): void {
    this.#seconds.delete(app);
    this.#totals.delete(app);
  }

  /** The series of one app, route and consumer; its histogram is shared by the route's consumers. */
  #seriesOf(app: string, route: string, consumer: string): Series {
    let routes = this.#series.get(app);
    if (!routes) this.#series.set(app, (routes = new Map()));
    let consumers = routes.get(route);
    if (!consumers) routes.set(route, (consumers = new Map()));
    let series = consumers.get(consumer);
    if (!series) {
      const first = consumers.values().next().value;
      const latency = first?.latency ?? { labels: `app="${esc(app)}",route="${esc(route)}"`, counts: buckets.map(() => 0), sum: 0, count: 0 };
      consumers.set(consumer, (series = { labels: `app="${esc(app)}",route="${esc(route)}",consumer="${esc(consumer)}"`, byStatus: new Map(), errors: 0, latency }));
    }
    return series;
  }

  /** The app's per-second slots, the current second's zeroed when it starts. */
  #slot(app: string, second: number): AppSeconds {
    let data = this.#seconds.get(app);
    if (!data) this.#seconds.set(app, (data = { second: new Array(window).fill(0), requests: new Array(window).fill(0), errors: new Array(window).fill(0) }));
    const index = second % window;
    if (data.second[index] !== second) {
      data.second[index] = second;
      data.requests[index] = 0;
      data.errors[index] = 0;
    }
    return data;
  }
}

function inc(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function esc(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
