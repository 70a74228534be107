import { expect, test } from 'vitest';
import { parseLlamaMetrics } from './metrics.ts';

test("llama-server's /metrics exposition gives mean tokens/s from its counters (the gauges reset on every read)", () => {
  const text = [
    '# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.',
    '# TYPE llamacpp:prompt_tokens_total counter',
    'llamacpp:prompt_tokens_total 18',
    'llamacpp:prompt_seconds_total 0.177991',
    'llamacpp:tokens_predicted_total 24',
    'llamacpp:tokens_predicted_seconds_total 0.011679',
    'llamacpp:prompt_tokens_seconds 101.129',
    'llamacpp:predicted_tokens_seconds 1798.1',
    'llamacpp:requests_processing 0',
  ].join('\n');
  expect(parseLlamaMetrics(text)).toEqual({ predictedTokensPerSecond: 2055, promptTokensPerSecond: 101.1, tokensPredictedTotal: 24, requestsProcessing: 0 });
  expect(parseLlamaMetrics('')).toEqual({ predictedTokensPerSecond: null, promptTokensPerSecond: null, tokensPredictedTotal: null, requestsProcessing: null });
});
