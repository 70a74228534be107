import { afterAll, beforeAll, expect, test } from 'vitest';
import { jobsTestPlugin } from './helpers/jobs-test-plugin.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

let bp: TestDaemon;
beforeAll(async () => {
  bp = await startTestDaemon({ plugins: [jobsTestPlugin] });
});
afterAll(() => bp.stop());

test('jobLog over graphql-ws delivers every line in order, then completes when the job ends', async () => {
  const count = 30_000;
  // The job waits a moment, so most lines arrive live rather than from the tail.
  const started = await bp.gql('mutation($a: [String!]!) { testStartJob(fixture: "sh", command: "/bin/sh", args: $a) }', {
    a: ['-c', `sleep 0.3; exec "$0" ${count}`, new URL('./fixtures/bin/job-lines', import.meta.url).pathname],
  });
  const id = started.data.testStartJob;
  const client = bp.ws();
  const lines: string[] = [];
  let events = 0;
  for await (const event of client.iterate<{ jobLog: { lines: string[] } }>({ query: 'subscription($id: ID!) { jobLog(id: $id, tail: 100000) { lines } }', variables: { id } })) {
    expect(event.errors).toBeUndefined();
    events++;
    lines.push(...event.data!.jobLog.lines);
  }
  expect(lines).toHaveLength(count);
  lines.forEach((line, i) => {
    if (!line.startsWith(String(i).padStart(10, '0'))) throw new Error(`line ${i} out of order: ${line}`);
  });
  // Batched: far fewer events than lines.
  expect(events).toBeLessThan(count / 10);
});

test('jobLog of an unknown job is a NOT_FOUND error', async () => {
  const client = bp.ws();
  const iterator = client.iterate({ query: 'subscription { jobLog(id: "t-404") { lines } }' });
  await expect(iterator.next()).rejects.toEqual([expect.objectContaining({ message: 'Job not found: t-404' })]);
});
