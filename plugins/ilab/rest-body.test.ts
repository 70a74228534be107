import { expect, test } from 'vitest';
import { decodeGoBody } from './rest-body.ts';

const fields = { modelName: 'string', epochs: 'int' } as const;
const decode = (text: string | Uint8Array | undefined) => decodeGoBody(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, fields);

// Each expectation is what Go 1.22's json.NewDecoder(r).Decode(&struct{ModelName string `json:"modelName"`; Epochs *int `json:"epochs"`}) gives.
test.each([
  ['null body', 'null', { modelName: '', epochs: null }],
  ['exact keys', '{"modelName":"m","epochs":3}', { modelName: 'm', epochs: 3 }],
  ['case-insensitive keys', '{"MODELNAME":"m","Epochs":2}', { modelName: 'm', epochs: 2 }],
  ['the later of two matching keys wins, exact or folded', '{"modelName":"exact","modelname":"folded"}', { modelName: 'folded', epochs: null }],
  ['KELVIN SIGN and LONG S fold to k and s', '{"epoch\u017f":4}', { modelName: '', epochs: 4 }],
  ['null leaves a string and clears an int', '{"modelName":"m","epochs":5,"MODELNAME":null,"EPOCHS":null}', { modelName: 'm', epochs: null }],
  ['unknown keys are ignored, whatever they hold', '{"other":[1,{"a":[[]]}],"modelName":"m"}', { modelName: 'm', epochs: null }],
  ['zero and negative ints decode (the route checks them)', '{"epochs":-1}', { modelName: '', epochs: -1 }],
  ['whitespace around the value', ' \r\n\t{ "epochs" : 7 } ', { modelName: '', epochs: 7 }],
  ['anything after the first value is not read', '{"modelName":"m"} trailing {', { modelName: 'm', epochs: null }],
  ['lone surrogate escapes become U+FFFD', '{"modelName":"a\\ud800b\\udc00\\ud83d\\ude00"}', { modelName: 'a\ufffdb\ufffd\u{1f600}', epochs: null }],
])('%s', (_name, body, expected) => {
  expect(decode(body)).toEqual(expected);
});

test('invalid UTF-8 becomes one U+FFFD per bad byte, as Go unquotes it', () => {
  const body = Buffer.concat([Buffer.from('{"modelName":"a'), Buffer.from([0xe2, 0x82, 0xff, 0xc0, 0xaf]), Buffer.from('b"}')]);
  expect(decode(body).modelName).toBe('a\ufffd\ufffd\ufffd\ufffd\ufffdb');
});

test.each([
  ['an empty body', ''],
  ['only whitespace', '  \n'],
  ['no body at all', undefined],
  ['a BOM (Go does not skip it)', '\ufeff{}'],
  ['an array body', '[]'],
  ['a string body', '"text"'],
  ['a number body', '3'],
  ['a truncated object', '{"modelName":"m"'],
  ['a trailing comma', '{"modelName":"m",}'],
  ['single quotes', "{'modelName':'m'}"],
  ['a control character in a string', '{"modelName":"a\u0001"}'],
  ['an unknown escape', '{"modelName":"\\x41"}'],
  ['a string for an int', '{"epochs":"10"}'],
  ['a fraction for an int', '{"epochs":1.5}'],
  ['an integral fraction for an int', '{"epochs":1.0}'],
  ['an exponent for an int', '{"epochs":1e2}'],
  ['a bool for an int', '{"epochs":true}'],
  ['a number for a string', '{"modelName":7}'],
  ['an object for a string', '{"modelName":{}}'],
  ['an int beyond int64', '{"epochs":9223372036854775808}'],
  ['a wrong type fixed by a later key', '{"epochs":"x","epochs":3}'],
  ['a leading zero', '{"epochs":01}'],
  ['bad syntax in an ignored value', '{"other":[1,],"modelName":"m"}'],
])('%s is an Invalid request body', (_name, body) => {
  expect(() => decode(body)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: 'Invalid request body' }));
});

test('int64 bounds decode', () => {
  expect(decode('{"epochs":-9223372036854775808}').epochs).toBe(-(2 ** 63));
  expect(decode('{"epochs":-0}').epochs).toBe(0);
});
