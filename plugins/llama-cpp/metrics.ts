/** The llama-server `/metrics` values backplane reports (Prometheus text, `llamacpp:` names). */
export interface LlamaMetrics {
  /** Mean generation speed of the run: `tokens_predicted_total / tokens_predicted_seconds_total`. */
  predictedTokensPerSecond: number | null;
  /** Mean prompt processing speed: `prompt_tokens_total / prompt_seconds_total`. */
  promptTokensPerSecond: number | null;
  tokensPredictedTotal: number | null;
  requestsProcessing: number | null;
}

/**
 * Parses llama-server's Prometheus exposition (needs `--metrics`); unknown lines are ignored.
 * Speeds come from the counters: the `*_tokens_seconds` gauges only cover the time since the
 * previous scrape (llama-server resets them on every read), so with frequent probes they are 0.
 */
export function parseLlamaMetrics(text: string): LlamaMetrics {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^llamacpp:([a-z_]+)(?:\{[^}]*\})?\s+(\S+)/.exec(line.trim());
    if (match && Number.isFinite(Number(match[2]))) values.set(match[1], Number(match[2]));
  }
  const get = (name: string) => values.get(name) ?? null;
  const rate = (tokens: string, seconds: string) => {
    const t = values.get(tokens);
    const s = values.get(seconds);
    return t !== undefined && s !== undefined && s > 0 ? Math.round((t / s) * 10) / 10 : null;
  };
  return {
    predictedTokensPerSecond: rate('tokens_predicted_total', 'tokens_predicted_seconds_total'),
    promptTokensPerSecond: rate('prompt_tokens_total', 'prompt_seconds_total'),
    tokensPredictedTotal: get('tokens_predicted_total'),
    requestsProcessing: get('requests_processing'),
  };
}
