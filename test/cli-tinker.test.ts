import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { backplaneBin, runBackplane } from './helpers/cli-run.ts';
import { spawnDaemon, type DaemonProcess } from './helpers/daemon-process.ts';
import { textDatum, TinkerSdk } from './helpers/tinker-sdk.ts';

/**
 * `backplane tinker …` against a real daemon (`backplane serve` in a child process) whose
 * tinker plugin trains with the real TypeScript TinyLM worker, driven through the REST API by
 * the SDK emulator as test/tinker-training.test.ts does.
 */
let dir: string;
let daemon: DaemonProcess;
let sdk: TinkerSdk;
let session: string;
let model: string;
const data = ['hello world', 'hello there', 'the world says hello'].map((t) => textDatum(t));
const cli = (args: string[]) => runBackplane(daemon.url, args);
const json = async (args: string[]) => {
  const result = await cli([...args, '--json']);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
};
const step = async () => {
  await sdk.forwardBackward(model, data, 'cross_entropy');
  await sdk.optimStep(model, { learning_rate: 0.02 });
};

/** Runs a follow in a child, training a step at a time until it has printed `n` lines; then Ctrl-C. */
async function follow(args: string[], n: number): Promise<{ lines: string[]; stderr: string; exitCode: number | undefined }> {
  const { execa } = await import('execa');
  const child = execa(process.execPath, [backplaneBin, ...args], { env: { BACKPLANE_URL: daemon.url, BACKPLANE_API_KEY: '', NO_COLOR: '' }, reject: false, buffer: false });
  const lines: string[] = [];
  let stderr = '';
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    const parts = text.split('\n');
    text = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // The subscription opens a moment after the command starts: steps until it reports them.
  for (let i = 0; i < 40 && lines.length < n; i++) await step();
  child.kill('SIGINT');
  const result = await child;
  return { lines, stderr, exitCode: result.exitCode };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bp-cli-tinker-'));
  daemon = await spawnDaemon(dir, {
    plugins: { ilab: { enabled: false }, 'vllm-podman': { enabled: false }, 'llama-cpp': { enabled: false }, 'nvidia-smi': { enabled: false }, training: { enabled: false }, triton: { enabled: false } },
  });
  sdk = new TinkerSdk(daemon.url);
  session = await sdk.createSession(['cli']);
  model = await sdk.createModel({ rank: 8, train_mlp: true, train_attn: true, train_unembed: true, seed: 3 });
  for (let i = 0; i < 3; i++) await step();
  await sdk.saveState(model, 'step-3');
}, 60_000);
afterAll(async () => {
  daemon?.process.kill('SIGTERM');
  await daemon?.process;
  await rm(dir, { recursive: true, force: true });
});

describe('backplane tinker', () => {
  test('sessions and models, both modes', async () => {
    const sessions = await cli(['tinker', 'sessions']);
    expect(sessions.exitCode).toBe(0);
    expect(sessions.stdout.split('\n')[0]).toMatch(/^SESSION\s+STATUS\s+MODELS\s+SAMPLERS\s+TAGS\s+SDK\s+CREATED\s+HEARTBEAT$/);
    expect(sessions.stdout).toMatch(new RegExp(`${session}\\s+active\\s+1\\s+0\\s+cli\\s`));
    expect((await json(['tinker', 'sessions', '--limit', '1']))[0]).toMatchObject({ id: session, status: 'active', tags: ['cli'], models: [{ id: model }], samplers: [] });

    const models = await cli(['tinker', 'models']);
    expect(models.stdout.split('\n')[0]).toMatch(/^MODEL\s+SESSION\s+BASE\s+STATUS\s+STEP\s+LAST LOSS\s+RANK\s+QUEUED\s+WORKER\s+MESSAGE$/);
    expect(models.stdout).toMatch(new RegExp(`${model}\\s+${session}\\s+tiny-lm\\s+ready\\s+\\d+\\s+\\d+\\.\\d{4}\\s+8\\s+0\\s+w`));
    const listed = await json(['tinker', 'models', '--session', session]);
    expect(listed).toEqual([expect.objectContaining({ id: model, sessionId: session, baseModel: 'tiny-lm', status: 'ready', lora: { rank: 8 } })]);
    expect(listed[0].step).toBeGreaterThanOrEqual(3);
    expect(await json(['tinker', 'models', '--session', 'session-none'])).toEqual([]);
  });

  test('checkpoints (--model), both modes; rm-checkpoint, then again is exit 1', async () => {
    const path = `tinker://${model}/weights/step-3`;
    const table = await cli(['tinker', 'checkpoints']);
    expect(table.stdout.split('\n')[0]).toMatch(/^PATH\s+KIND\s+STEP\s+SIZE\s+CREATED\s+EXPIRES$/);
    expect(table.stdout).toMatch(new RegExp(`${path}\\s+weights\\s+3\\s+[\\d.]+ KB\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\s+-`));
    const listed = await json(['tinker', 'checkpoints', '--model', model]);
    expect(listed).toEqual([expect.objectContaining({ path, modelId: model, kind: 'weights', name: 'step-3', step: 3, baseModel: 'tiny-lm', expiresAt: null })]);
    expect(listed[0].bytes).toBeGreaterThan(0);
    expect(await json(['tinker', 'checkpoints', '--model', 'model-none'])).toEqual([]);

    expect(await cli(['tinker', 'rm-checkpoint', path])).toMatchObject({ exitCode: 0, stdout: `removed ${path}` });
    expect(await cli(['tinker', 'checkpoints'])).toMatchObject({ stdout: '(none)' });
    expect(await cli(['tinker', 'rm-checkpoint', path])).toMatchObject({ exitCode: 1, stdout: `${path}: no such checkpoint` });
    const again = await cli(['tinker', 'rm-checkpoint', path, '--json']);
    expect(again.exitCode).toBe(1);
    expect(JSON.parse(again.stdout)).toEqual({ path, removed: false });
  });

  test('metrics: the step and last loss, both modes', async () => {
    const table = await cli(['tinker', 'metrics', model]);
    expect(table.stdout).toMatch(new RegExp(`^MODEL\\s+STATUS\\s+STEP\\s+LAST LOSS\\s+UPDATED\\n${model}\\s+ready\\s+\\d+\\s+\\d+\\.\\d{4}\\s`));
    const [row] = await json(['tinker', 'metrics', model]);
    expect(row).toMatchObject({ modelId: model, status: 'ready', lastLoss: expect.any(Number) });
  });

  test('metrics --follow --jsonl: one event a line per optim_step (tinkerTrainingMetrics); Ctrl-C ends it (130)', async () => {
    const { lines, exitCode } = await follow(['tinker', 'metrics', model, '--follow', '--jsonl'], 3);
    expect(exitCode).toBe(130);
    const events = lines.map((line) => JSON.parse(line));
    expect(events.length).toBeGreaterThanOrEqual(3);
    for (const event of events) expect(event).toMatchObject({ modelId: model, kind: 'optim_step', step: expect.any(Number), loss: expect.any(Number), meanLoss: expect.any(Number) });
    // Consecutive steps, each one more than the last.
    expect(events.slice(1).map((e, i) => e.step - events[i].step)).toEqual(events.slice(1).map(() => 1));
  });

  test('metrics --follow for people: a header, then STEP KIND LOSS MEAN LOSS AT lines; --forward-backward adds those', async () => {
    const { lines, stderr, exitCode } = await follow(['tinker', 'metrics', model, '--follow', '--forward-backward'], 5);
    expect(exitCode).toBe(130);
    expect(stderr).toMatch(new RegExp(`^${model}: step \\d+, last loss \\d+\\.\\d{4}; following \\(Ctrl-C ends\\)`));
    expect(lines[0]).toMatch(/^STEP\s+KIND\s+LOSS\s+MEAN LOSS\s+AT$/);
    const rows = lines.slice(1);
    for (const row of rows) expect(row).toMatch(/^\d+\s+(optim_step|forward_backward)\s+\d+\.\d{4}\s+\d+\.\d{4}\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    expect(rows.some((r) => /^\d+\s+forward_backward\s/.test(r))).toBe(true);
    expect(rows.some((r) => /^\d+\s+optim_step\s/.test(r))).toBe(true);
  });

  test('bad values: an unknown model, a path that is not a tinker:// path (the daemon’s message), exit 1', async () => {
    for (const args of [['tinker', 'metrics', 'model-nope'], ['tinker', 'metrics', 'model-nope', '--follow', '--jsonl']]) {
      const result = await cli(args);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toBe("backplane: tinker model 'model-nope' not found");
    }
    const bad = await cli(['tinker', 'rm-checkpoint', 'not-a-path']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toBe("backplane: tinkerDeleteCheckpoint: path: expected tinker://<training_run_id>/{weights|sampler_weights}/<checkpoint_id>, got 'not-a-path'");
    const limit = await cli(['tinker', 'sessions', '--limit', '0']);
    expect(limit.exitCode).toBe(1);
    expect(limit.stderr).toMatch(/^backplane: tinkerSessions: /);
  });

  test('status has a tinker section; every command’s --help shows an example', async () => {
    expect((await cli(['status'])).stdout).toMatch(new RegExp(`tinker models\\nMODEL\\s+SESSION.*\\n${model}\\s`));
    for (const verb of ['sessions', 'models', 'checkpoints', 'rm-checkpoint', 'metrics']) {
      const help = await cli(['tinker', verb, '--help']);
      expect(help.exitCode).toBe(0);
      expect(help.stdout).toMatch(/Examples?:\n {2}backplane tinker /);
    }
  });
});
