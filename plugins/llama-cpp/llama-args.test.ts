import { describe, expect, test } from 'vitest';
import { hasErrorCode } from '../../core/plugin-api.ts';
import { buildLlamaServerArgs, validateLlamaArgs } from './llama-args.ts';

const refused = (args: string[]) => {
  try {
    validateLlamaArgs(args);
  } catch (error) {
    return hasErrorCode(error, 'BAD_USER_INPUT') ? error.message : `unexpected: ${String(error)}`;
  }
  return 'accepted';
};

describe('extra llama-server flags', () => {
  test('allowed flags in every spelling come back canonical', () => {
    expect(validateLlamaArgs(['-fa', 'on', '--jinja', '--batch-size=256', '-ctk', 'q8_0', '--embedding'])).toEqual([
      '--flash-attn', 'on', '--jinja', '--batch-size', '256', '--cache-type-k', 'q8_0', '--embeddings',
    ]);
  });

  test('flags outside the allow-list, managed flags and bad values are refused with the reason', () => {
    expect(refused(['--api-key', 'x'])).toMatch(/'--api-key' is not allowed/);
    expect(refused(['-hf', 'org/model'])).toMatch(/'-hf' is not allowed/);
    expect(refused(['--port', '9000'])).toMatch(/set by backplane: use port/);
    expect(refused(['-ngl', '99'])).toMatch(/use gpuLayers/);
    expect(refused(['--flash-attn', 'maybe'])).toMatch(/expected one of on, off, auto/);
    expect(refused(['--batch-size'])).toMatch(/needs a value/);
    expect(refused(['--jinja=1'])).toMatch(/takes no value/);
    expect(refused(['--jinja', '--jinja'])).toMatch(/given twice/);
    expect(refused(['stray'])).toMatch(/expected a flag/);
  });
});

test('the argv puts the instance name first among the aliases and always asks for /metrics', () => {
  expect(
    buildLlamaServerArgs({ modelPath: '/m/a.gguf', host: '127.0.0.1', port: 8100, name: 'a', aliases: ['b', 'a'], threads: 2, ctxSize: 512, gpuLayers: 0, parallel: 1, extraArgs: ['--jinja'] }),
  ).toEqual(['--model', '/m/a.gguf', '--host', '127.0.0.1', '--port', '8100', '--alias', 'a,b', '--threads', '2', '--ctx-size', '512', '--n-gpu-layers', '0', '--parallel', '1', '--metrics', '--jinja']);
});
