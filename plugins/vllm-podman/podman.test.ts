import { describe, expect, test } from 'vitest';
import { ProcessError, type ProcessService, type RunResult } from '../../core/plugin-api.ts';
import { createPodman } from './podman.ts';

/** A process service that answers each podman call from a table, recording the argv. */
function scripted(answers: Record<string, Partial<RunResult>>) {
  const calls: string[][] = [];
  const processes: ProcessService = {
    which: async () => '/usr/bin/podman',
    run: async (file, args) => {
      calls.push([file, ...args]);
      const answer = answers[args[0]] ?? {};
      const result = { command: '', exitCode: 0, signal: undefined, stdout: '', stderr: '', failed: false, timedOut: false, canceled: false, spawnError: undefined, durationMs: 1, error: undefined, ...answer };
      // As the real process service reports a failure.
      const error = result.failed ? new ProcessError({ argv: [file, ...args], exitCode: result.exitCode, stderr: result.stderr, timedOut: result.timedOut, timeoutMs: 1000, spawnError: result.spawnError?.split(':')[0] }) : undefined;
      return { ...result, error };
    },
    spawn: () => {
      throw new Error('the wrapper only runs one-shot commands');
    },
  };
  return { podman: createPodman({ processes, podmanPath: 'podman', timeoutMs: 1000 }), calls };
}

describe('podman wrapper', () => {
  test('a missing container is undefined, not an error', async () => {
    const { podman, calls } = scripted({ container: { exitCode: 125, failed: true, stdout: '[]\n', stderr: 'Error: inspecting object: no such container gone\n' } });
    expect(await podman.inspect('gone')).toBeUndefined();
    expect(calls[0]).toEqual(['podman', 'container', 'inspect', '--format', 'json', '--', 'gone']);
  });

  test('failures become the process service’s coded errors; podman’s stderr stays out of the message', async () => {
    const { podman } = scripted({ run: { exitCode: 125, failed: true, stderr: 'Error: localhost/nope:latest: image not known\n' } });
    await expect(podman.run(['run', '--detach', 'x'])).rejects.toMatchObject({ code: 'BACKEND_ERROR', message: 'podman run failed with exit code 125', exitCode: 125, stderrTail: 'Error: localhost/nope:latest: image not known\n' });
    const missing = scripted({ version: { failed: true, exitCode: undefined, spawnError: 'ENOENT: cannot run podman' } });
    await expect(missing.podman.version()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const slow = scripted({ ps: { failed: true, timedOut: true } });
    await expect(slow.podman.ps('a=b')).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  test('stop and rm tolerate missing containers and end options with --', async () => {
    const { podman, calls } = scripted({});
    await podman.stop('backplane-vllm-x', 10);
    await podman.remove('backplane-vllm-x');
    expect(calls).toEqual([
      ['podman', 'stop', '--ignore', '--time', '10', '--', 'backplane-vllm-x'],
      ['podman', 'rm', '--force', '--ignore', '--time', '0', '--', 'backplane-vllm-x'],
    ]);
  });

  test('the legacy ps columns, with labels', async () => {
    const sep = '\u001f';
    const line = ['5a7989d26534', 'docker.io/vllm/vllm-openai:latest', '/models/m --serv...', '2026-11-23 20:28:53.045124064 +0000 UTC', 'Up 2 minutes', '', 'backplane-vllm-pre-train', '{"backplane.served-name":"pre-train"}'].join(sep);
    const { podman } = scripted({ ps: { stdout: `${line}\n` } });
    expect(await podman.psLegacy('backplane.plugin=vllm-podman')).toEqual([
      { containerId: '5a7989d26534', image: 'docker.io/vllm/vllm-openai:latest', command: '/models/m --serv...', createdAt: '2026-11-23 20:28:53.045124064 +0000 UTC', status: 'Up 2 minutes', ports: '', names: 'backplane-vllm-pre-train', servedModelName: '', modelPath: '', labels: { 'backplane.served-name': 'pre-train' } },
    ]);
  });

  test('logTail merges stdout and stderr in time order', async () => {
    const { podman } = scripted({
      logs: {
        stdout: '2026-11-23T20:00:00.000000001Z a\n2026-11-23T20:00:00.000000003Z c\n',
        stderr: '2026-11-23T20:00:00.000000002Z b\n2026-11-23T20:00:00.000000004Z ValueError: d\n',
      },
    });
    expect(await podman.logTail('x', 3)).toEqual(['b', 'c', 'ValueError: d']);
  });
});
