import { expect, test } from 'vitest';
import { createProcessService } from './process-service.ts';

const processes = () => createProcessService({ signal: new AbortController().signal });

test('run: argv without a shell, exit codes as results, missing binaries as spawn errors', async () => {
  const ok = await processes().run('printf', ['%s|', 'a b', '$(whoami)']);
  expect(ok).toMatchObject({ exitCode: 0, stdout: 'a b|$(whoami)|', failed: false });
  const bad = await processes().run('sh', ['-c', 'echo oops >&2; exit 3']);
  expect(bad).toMatchObject({ exitCode: 3, stderr: 'oops\n', failed: true });
  const missing = await processes().run('/no/such/tool', []);
  expect(missing.spawnError).toBe('ENOENT: cannot run /no/such/tool');
  const slow = await processes().run('sleep', ['5'], { timeoutMs: 100 });
  expect(slow.timedOut).toBe(true);
});

test('spawn: streams lines from both outputs, and stop ends the process', async () => {
  const lines: string[] = [];
  const child = processes().spawn('sh', ['-c', 'echo one; echo two >&2; printf "three\\r\\npartial"; sleep 30'], { onLine: (line, stream) => lines.push(`${stream}:${line}`) });
  await new Promise((r) => setTimeout(r, 300));
  const result = await child.stop();
  expect(lines).toEqual(expect.arrayContaining(['stdout:one', 'stderr:two', 'stdout:three', 'stdout:partial']));
  expect(result.canceled).toBe(true);
});

test('a plugin stop cancels its commands', async () => {
  const stop = new AbortController();
  const service = createProcessService({ signal: stop.signal });
  const pending = service.run('sleep', ['30']);
  stop.abort();
  expect((await pending).canceled).toBe(true);
});
