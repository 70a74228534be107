import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { jobsTestPlugin } from './helpers/jobs-test-plugin.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

/** `Job.logLines(last, before)` and `jobLog(from:)`: what the dashboard pages and follows a log with. */
describe('log windows for a UI', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [jobsTestPlugin] });
  });
  afterAll(() => bp.stop());

  const start = async (script: string) => (await bp.gql('mutation($a: [String!]!) { testStartJob(fixture: "sh", command: "/bin/sh", args: $a) }', { a: ['-c', script] })).data.testStartJob as string;
  const window = async (id: string, last: number, before?: number) =>
    (await bp.gql('query($id: ID!, $last: Int!, $before: Float) { job(id: $id) { logLines(last: $last, before: $before) { lines start end } } }', { id, last, before })).data.job.logLines as { lines: string[]; start: number; end: number };

  test('pages back from the end to the first byte, each window ending where the next begins', async () => {
    const id = await start('i=1; while [ $i -le 250 ]; do echo "line $i é"; i=$((i+1)); done');
    await waitFor(async () => ((await bp.gql('query($id: ID!) { job(id: $id) { status } }', { id })).data.job.status === 'succeeded' ? true : undefined));
    const seen: string[] = [];
    let before: number | undefined;
    let previousStart: number | undefined;
    for (let i = 0; i < 10; i++) {
      const w = await window(id, 100, before);
      if (previousStart !== undefined) expect(w.end).toBe(previousStart);
      seen.unshift(...w.lines);
      previousStart = w.start;
      before = w.start;
      if (w.start === 0) break;
    }
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => `line ${i + 1} é`));
    expect((await bp.gql('query($id: ID!) { job(id: $id) { logLines(last: -1) { start } } }', { id })).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('following from a window’s end misses no line and repeats none', async () => {
    const gate = `${Date.now()}`;
    const id = await start(`i=1; while [ $i -le 40 ]; do echo "n $i ${gate}"; i=$((i+1)); sleep 0.02; done`);
    await waitFor(async () => ((await window(id, 5)).lines.length >= 5 ? true : undefined));
    const first = await window(id, 5);
    const client = bp.ws();
    const followed: string[] = [];
    await new Promise<void>((resolve, reject) => {
      client.subscribe<{ jobLog: { lines: string[] } }>(
        { query: 'subscription($id: ID!, $from: Float) { jobLog(id: $id, from: $from) { lines } }', variables: { id, from: first.end } },
        { next: (event) => void followed.push(...(event.data?.jobLog.lines ?? [])), error: reject, complete: resolve },
      );
    });
    const all = [...first.lines, ...followed];
    const firstNumber = Number(first.lines[0].split(' ')[1]);
    expect(all).toEqual(Array.from({ length: 41 - firstNumber }, (_, i) => `n ${firstNumber + i} ${gate}`));
  });
});
