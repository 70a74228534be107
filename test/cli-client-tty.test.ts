import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createFakeNvidiaSmi, type FakeNvidiaSmi } from './fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { backplaneBin } from './helpers/cli-run.ts';
import { spawnDaemon, type DaemonProcess } from './helpers/daemon-process.ts';
import { waitFor } from './helpers/wait-for.ts';

/**
 * The interactive faces of the client in a real terminal: tmux runs it in a 120×40 pane and
 * the tests read the screen (capture-pane -e keeps the escape sequences, so colour shows).
 */
const run = promisify(execFile);
const hasTmux = await run('tmux', ['-V']).then(
  () => true,
  () => false,
);
const socket = `bp-cli-test-${process.pid}`;
const tmux = (...args: string[]) => run('tmux', ['-L', socket, ...args]);
let sessions = 0;
let dir: string;
let fake: FakeNvidiaSmi;
let daemon: DaemonProcess;

/**
 * Starts `backplane ARGS` in a new pane; `screen()` is what the pane shows now. CI is unset as on
 * a user's terminal (ora draws no spinner when it is set).
 */
async function terminal(args: string, env = '') {
  const name = `s${++sessions}`;
  const command = `env -u CI BACKPLANE_URL=${daemon.url} TERM=xterm-256color ${env} ${process.execPath} ${backplaneBin} ${args}; echo EXIT=$?; sleep 600`;
  await tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '40', command);
  const screen = async () => (await tmux('capture-pane', '-p', '-e', '-t', name)).stdout;
  // `until` matches the text without escape sequences, and returns the raw screen.
  return { name, screen, until: (pattern: RegExp) => waitFor(async () => { const raw = await screen(); return pattern.test(plain(raw)) ? raw : undefined; }, { timeoutMs: 30_000 }), keys: (...keys: string[]) => tmux('send-keys', '-t', name, ...keys) };
}

// eslint-disable-next-line no-control-regex
const plain = (screen: string) => screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
const gql = async <T>(query: string, variables?: Record<string, unknown>) => (await daemon.gql<T>(query, variables)).data!;

beforeAll(async () => {
  if (!hasTmux) return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'bp-cli-tty-'));
  fake = await createFakeNvidiaSmi('four-mixed');
  daemon = await spawnDaemon(dir, {
    plugins: {
      'nvidia-smi': { bin: fake.bin, mode: 'spawn', intervalMs: 300 },
      'jobs-test': { module: path.resolve('test/helpers/jobs-test-plugin.ts') },
      ilab: { mode: 'mock', mock: { stepMs: 250 } },
      'vllm-podman': { enabled: false },
      'llama-cpp': { enabled: false },
    },
  });
}, 60_000);
afterAll(async () => {
  if (!hasTmux) return;
  await tmux('kill-server').catch(() => undefined);
  daemon?.process.kill('SIGTERM');
  await daemon?.process;
  await fake?.remove();
  await rm(dir, { recursive: true, force: true });
});

test.skipIf(!hasTmux)('ilab train --follow draws a progress bar that advances, then exits 0', async () => {
  const pane = await terminal('ilab train --model models/granite-8b-starter-v1 --branch main --epochs 2 --follow');
  const first = await pane.until(/t-\d+ [█░]+ (\d+)% \| .* \| ETA/);
  const percent = (screen: string) => Number(/t-\d+ [█░]+ (\d+)% \|/.exec(plain(screen))?.[1] ?? -1);
  const start = percent(first);
  const later = await waitFor(async () => {
    const screen = await pane.screen();
    return percent(screen) > start ? screen : undefined;
  });
  expect(percent(later)).toBeGreaterThan(start);
  const done = await pane.until(/EXIT=\d+/);
  expect(plain(done)).toContain('EXIT=0');
  expect(plain(done)).toMatch(/t-\d+ succeeded \(exit 0\)/);
  // On a terminal the job's own colours and ours are kept.
  expect(done).toContain('\x1b[');
});

test.skipIf(!hasTmux)('Ctrl-C stops following a job without a progress report (spinner), and the job keeps running', async () => {
  const { testStartJob: id } = await gql<{ testStartJob: string }>('mutation { testStartJob(fixture: "job-sleep", args: ["60"]) }');
  const pane = await terminal(`jobs logs ${id} --follow`);
  const spinning = plain(await pane.until(new RegExp(`sleeping 60s[\\s\\S]*${id} running \\(\\d+s\\)`)));
  expect(spinning).toMatch(/^sleeping 60s$/m);
  await pane.keys('C-c');
  const stopped = await pane.until(/EXIT=\d+/);
  expect(plain(stopped)).toContain(`stopped following ${id}; the job keeps running`);
  expect(stopped).toContain('EXIT=130');
  const { job } = await gql<{ job: { status: string } }>('query($id: ID!) { job(id: $id) { status } }', { id });
  expect(job.status).toBe('running');
  await gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id });
});

test.skipIf(!hasTmux)('gpus --watch redraws the table from the gpuStats subscription', async () => {
  const pane = await terminal('gpus --watch');
  const first = await pane.until(/sample \d+,[\s\S]*NVIDIA/);
  const sample = (screen: string) => Number(/sample (\d+),/.exec(plain(screen))?.[1] ?? 0);
  expect(plain(first)).toMatch(/1\s+NVIDIA H100 80GB HBM3\s+97%/);
  expect(first).toContain('\x1b[1m'); // bold headings on a terminal
  await fake.use('one-idle');
  const later = await waitFor(async () => {
    const screen = await pane.screen();
    return sample(screen) > sample(first) && /NVIDIA/.test(screen) && !/97%/.test(screen) ? plain(screen) : undefined;
  });
  expect(later.match(/GPU\s+NAME/g)).toHaveLength(1); // redrawn in place, not scrolled
  await pane.keys('C-c');
  expect(await pane.until(/EXIT=\d+/)).toContain('EXIT=130');
  await fake.use('four-mixed');
});

test.skipIf(!hasTmux)('colours are absent when piped or with NO_COLOR', async () => {
  const piped = await terminal('status | cat');
  const pipedScreen = await piped.until(/EXIT=\d+/);
  expect(pipedScreen).toContain('PLUGIN');
  expect(pipedScreen).not.toContain('\x1b[');
  const noColor = await terminal('status', 'NO_COLOR=1');
  const noColorScreen = await noColor.until(/EXIT=\d+/);
  expect(noColorScreen).toContain('PLUGIN');
  expect(noColorScreen).not.toContain('\x1b[');
  const colored = await terminal('status');
  expect(await colored.until(/EXIT=\d+/)).toContain('\x1b[');
});
