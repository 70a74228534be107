import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseDataList, parseModelList, parseTables } from './tables.ts';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/ilab/${name}`, import.meta.url), 'utf8');

describe('parseModelList', () => {
  test('the 3-column table of ilab ≤ 0.23', () => {
    const models = parseModelList(fixture('model-list-0.23.txt'));
    expect(models).toHaveLength(4);
    expect(models[0]).toEqual({ name: 'models/granite-8b-starter-v1', lastModified: '2025-01-24 14:05:11', size: '15.2 GB', absolutePath: null });
    expect(models[3]).toEqual({ name: 'granite-7b-lab-Q4_K_M.gguf', lastModified: '2024-11-30 11:16:44', size: '3.8 GB', absolutePath: null });
  });

  test('the 4-column table of ilab ≥ 0.24 with unicode, very long names and a | in a name', () => {
    const models = parseModelList(fixture('model-list-0.26.txt'));
    expect(models.map((m) => m.name)).toEqual([
      'models/granite-8b-starter-v1',
      'instructlab/granite-7b-lab',
      'models/modèle-été-日本語-🚀',
      `models/${'a-very-long-model-name-'.repeat(6)}v1`,
      'models/pipe|in|name',
    ]);
    expect(models[1]).toEqual({
      name: 'instructlab/granite-7b-lab',
      lastModified: '2025-01-24 14:31:40',
      size: '12.6 GB',
      absolutePath: '/var/home/cloud-user/.cache/instructlab/models/instructlab/granite-7b-lab',
    });
    expect(models[4].absolutePath).toBe('/var/home/cloud-user/.cache/instructlab/models/pipe|in|name');
  });

  test('the hand-edited README sample, whose rows do not line up with the border', () => {
    expect(parseModelList(fixture('model-list-readme-0.24.txt'))).toEqual([
      { name: 'merlinite-7b-lab-Q4_K_M.gguf', lastModified: '2024-11-21 22:24:50', size: '4.1 GB', absolutePath: '/path/to/model/merlinite-7b-lab-Q4_K_M.gguf' },
      { name: 'granite-7b-lab-Q4_K_M.gguf', lastModified: '2024-11-30 11:16:44', size: '3.8 GB', absolutePath: '/path/to/model/granite-7b-lab-Q4_K_M.gguf' },
    ]);
  });

  test('empty tables of both versions, and output that is no table at all', () => {
    expect(parseModelList(fixture('model-list-empty-0.23.txt'))).toEqual([]);
    expect(parseModelList(fixture('model-list-empty-0.26.txt'))).toEqual([]);
    expect(parseModelList('Mock Model A\nMock Model B\n')).toEqual([]);
    expect(parseModelList('')).toEqual([]);
  });

  test('warnings around the table and CRLF line ends are ignored', () => {
    const noisy = `WARNING 2025-01-28 02:11:05,412 instructlab: something\r\n${fixture('model-list-0.23.txt').replace(/\n/g, '\r\n')}done\r\n`;
    expect(parseModelList(noisy).map((m) => m.size)).toEqual(['15.2 GB', '15.2 GB', '87.0 GB', '3.8 GB']);
  });
});

describe('parseDataList', () => {
  test('ilab ≤ 0.22: 3 columns, groups headed by model and timestamp', () => {
    const datasets = parseDataList(fixture('data-list-0.22.txt'));
    expect(datasets).toHaveLength(7);
    expect(datasets[0]).toEqual({
      dataset: 'knowledge_train_msgs_2024-11-12T02_37_38.jsonl',
      model: null,
      createdAt: '2024-11-12 05:38:26',
      fileSize: '3.92 MB',
      run: 'mistral-7b-instruct-v0.2.Q4_K_M 2024-11-12 02:37:38',
    });
    expect(datasets[6].run).toBe('merlinite-7b-lab-Q4_K_M 2024-11-10 08:00:00');
  });

  test('ilab ≥ 0.23: 4 columns with Model, "Run from …" groups', () => {
    const datasets = parseDataList(fixture('data-list-0.23.txt'));
    expect(datasets).toHaveLength(7);
    expect(datasets[0]).toEqual({
      dataset: 'knowledge_train_msgs_2024-12-02T10_00_00.jsonl',
      model: 'General',
      createdAt: '2024-12-02 13:02:11',
      fileSize: '1.05 MB',
      run: 'knowledge_train_msgs_2024-12-02T10_00_00.jsonl',
    });
    expect(datasets[2]).toMatchObject({ dataset: '2025-01-28_021103/knowledge_train_msgs_2025-01-28T02_11_05.jsonl', run: '2025-01-28_021103', fileSize: '3.92 MB' });
  });

  test('no datasets', () => {
    expect(parseDataList(fixture('data-list-empty-0.23.txt'))).toEqual([]);
  });
});

test('parseTables keeps each table with its heading', () => {
  const tables = parseTables(fixture('data-list-0.23.txt'));
  expect(tables.map((t) => [t.heading, t.headers, t.rows.length])).toEqual([
    ['Run from knowledge_train_msgs_2024-12-02T10_00_00.jsonl', ['Dataset', 'Model', 'Created At', 'File size'], 1],
    ['Run from 2025-01-28_021103', ['Dataset', 'Model', 'Created At', 'File size'], 6],
  ]);
});
