import { expect, test } from 'vitest';
import { decodeGoBody } from './rest-body.ts';

const fields = { modelName: 'string', epochs: 'int' } as const;

test.each([
  ['absent body', undefined, { modelName: '', epochs: null }],
  ['null body', null, { modelName: '', epochs: null }],
  ['exact keys', { modelName: 'm', epochs: 3 }, { modelName: 'm', epochs: 3 }],
  ['case-insensitive keys, as Go matches them', { MODELNAME: 'm', Epochs: 2 }, { modelName: 'm', epochs: 2 }],
  ['an exact key wins over a folded one', { modelname: 'folded', modelName: 'exact' }, { modelName: 'exact', epochs: null }],
  ['null values leave zero values', { modelName: null, epochs: null }, { modelName: '', epochs: null }],
  ['unknown keys are ignored', { other: [1], modelName: 'm' }, { modelName: 'm', epochs: null }],
  ['zero and negative ints decode (the route checks them)', { epochs: -1 }, { modelName: '', epochs: -1 }],
])('%s', (_name, body, expected) => {
  expect(decodeGoBody(body, fields)).toEqual(expected);
});

test.each([
  ['an array body', []],
  ['a string body', 'text'],
  ['a number body', 3],
  ['a string for an int', { epochs: '10' }],
  ['a fraction for an int', { epochs: 1.5 }],
  ['a bool for an int', { epochs: true }],
  ['a number for a string', { modelName: 7 }],
  ['an object for a string', { modelName: {} }],
  ['an int beyond int64', { epochs: 2 ** 64 }],
])('%s is an Invalid request body', (_name, body) => {
  expect(() => decodeGoBody(body, fields)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: 'Invalid request body' }));
});
