import { expect, test } from 'vitest';
import { isProcessError, STDERR_TAIL_BYTES } from '../../packages/plugin-api/src/process-error.ts';
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
  const child = processes().spawn('sh', ['-c', 'echo one; echo two >&2; printf "three\\r\\npartial"; exec sleep 30'], { onLine: (line, stream) => lines.push(`${stream}:${line}`) });
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

test('a failed run carries one structured ProcessError; its stderr goes to the log, not the message', async () => {
  const logged: { msg: string; fields: unknown }[] = [];
  const logger = { trace() {}, debug() {}, info() {}, error() {}, warn: (msg: string, fields?: unknown) => void logged.push({ msg, fields }), child: () => logger };
  const service = createProcessService({ signal: new AbortController().signal, logger });

  const bad = await service.run('sh', ['-c', 'echo "secret traceback" >&2; exit 3']);
  expect(isProcessError(bad.error)).toBe(true);
  expect(bad.error).toMatchObject({ code: 'BACKEND_ERROR', message: 'sh failed with exit code 3', argv: ['sh', '-c', 'echo "secret traceback" >&2; exit 3'], exitCode: 3, signal: undefined, timedOut: false, stderrTail: 'secret traceback\n', details: { exitCode: 3, signal: null, timedOut: false } });
  expect(logged).toEqual([{ msg: 'sh failed with exit code 3', fields: expect.objectContaining({ exitCode: 3, stderr: 'secret traceback\n' }) }]);

  const named = await service.run('sh', ['-c', 'exit 1'], { displayArgv: ['ilab', 'model', 'list'], logFailure: false });
  expect(named.error?.message).toBe('ilab model list failed with exit code 1');
  expect(logged).toHaveLength(1);

  const slow = await service.run('sleep', ['5'], { timeoutMs: 100 });
  expect(slow.error).toMatchObject({ code: 'TIMEOUT', message: 'sleep did not finish within 100 ms', timedOut: true });
  const killed = await service.run('sh', ['-c', 'kill -9 $$']);
  expect(killed.error).toMatchObject({ code: 'BACKEND_ERROR', message: 'sh was killed by SIGKILL', signal: 'SIGKILL' });
  const missing = await service.run('/no/such/tool', ['run']);
  expect(missing.error).toMatchObject({ code: 'UNAVAILABLE', message: 'tool run could not be started (ENOENT)', spawnError: 'ENOENT' });
  expect((await service.run('true', [])).error).toBeUndefined();
});

test('the stderr tail keeps the end of a long stderr', async () => {
  const result = await processes().run('sh', ['-c', `head -c 10000 /dev/zero | tr '\\0' a >&2; echo END >&2; exit 1`]);
  expect(result.error!.stderrTail).toHaveLength(STDERR_TAIL_BYTES);
  expect(result.error!.stderrTail.endsWith('aEND\n')).toBe(true);
});
