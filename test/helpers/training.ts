import { expect } from 'vitest';

/** The training-manager REST profile's default prefix. */
export const trainingApi = '/training-manager/api/v1';

/** A JSON request. */
export const json = (body: unknown, method = 'POST'): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** 40 arithmetic question/answer rows: enough for the tiny model's loss to fall in a few epochs. */
export const arithCsv = `input,output\n${Array.from({ length: 40 }, (_, i) => `"question ${i % 5}: what is ${i % 5} plus ${i % 5}?","the answer is ${(i % 5) * 2}"`).join('\n')}\n`;

/** Uploads {@link arithCsv} as a dataset; its id. */
export async function uploadArithCsv(request: (p: string, init?: RequestInit) => Promise<Response>): Promise<number> {
  const form = new FormData();
  form.append('name', 'arith');
  form.append('file', new Blob([arithCsv]), 'arith.csv');
  const response = await request(`${trainingApi}/datasets/`, { method: 'POST', body: form });
  expect(response.status).toBe(201);
  return (await response.json()).id;
}
