import { describe, expect, test } from 'vitest';
import { mergeVllmArgs, validateVllmArgs } from './vllm-args.ts';

describe('validateVllmArgs', () => {
  test.each([
    [['--max-model-len', '4096'], ['--max-model-len', '4096']],
    [['--max-model-len=4096'], ['--max-model-len', '4096']],
    [['--gpu-memory-utilization', '0.85', '--dtype', 'bfloat16'], ['--gpu-memory-utilization', '0.85', '--dtype', 'bfloat16']],
    [['--enforce-eager', '--trust-remote-code'], ['--enforce-eager', '--trust-remote-code']],
    [['--tensor-parallel-size', '2', '--load-format', 'safetensors'], ['--tensor-parallel-size', '2', '--load-format', 'safetensors']],
    [[], []],
  ])('accepts %j', (args, expected) => {
    expect(validateVllmArgs(args)).toEqual(expected);
  });

  test.each([
    [['--bogus'], /'--bogus' is not allowed/],
    [['serve'], /'serve' is not allowed/],
    [['--port', '9000'], /'--port' is set by backplane/],
    [['--host=0.0.0.0'], /'--host' is set by backplane/],
    [['--api-key', 'k'], /set by backplane/],
    [['--max-model-len'], /needs a value/],
    [['--max-model-len', 'lots'], /expected an integer/],
    [['--max-model-len', '-1'], /expected an integer/],
    [['--gpu-memory-utilization', '0'], /above 0/],
    [['--gpu-memory-utilization', '1.5'], /to 1/],
    [['--dtype', 'int4'], /expected one of auto/],
    [['--enforce-eager=true'], /takes no value/],
    [['--dtype', 'auto', '--dtype', 'half'], /given twice/],
    [['--chat-template', '/etc/passwd'], /not allowed/],
    [Array(65).fill('--enforce-eager'), /Too many/],
  ])('refuses %j', (args, message) => {
    expect(() => validateVllmArgs(args)).toThrow(message);
  });

  test('errors are coded input errors', () => {
    expect(() => validateVllmArgs(['--x'])).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });
});

test('mergeVllmArgs: own flags replace defaults, others are kept in order', () => {
  expect(mergeVllmArgs(['--load-format', 'safetensors', '--enforce-eager', '--dtype', 'auto'], ['--dtype', 'half'])).toEqual(['--load-format', 'safetensors', '--enforce-eager', '--dtype', 'half']);
  expect(mergeVllmArgs(['--enforce-eager'], ['--enforce-eager'])).toEqual(['--enforce-eager']);
  expect(mergeVllmArgs([], ['--seed', '1'])).toEqual(['--seed', '1']);
});
