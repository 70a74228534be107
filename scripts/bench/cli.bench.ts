import path from 'node:path';
import { execa } from 'execa';
import { createFakeNvidiaSmi } from '../../test/fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { operationText } from '../../cli/operation-text.ts';
import { cliOperationsFile } from '../../cli/operations.ts';
import { report } from './lib/load.ts';
import { repoRoot, spawnBenchDaemon } from './lib/spawn-daemon.ts';
import { gql, wsClient } from './lib/ws-client.ts';

/**
 * The `backplane` client: how long `backplane status` takes from a cold process against `curl`
 * posting the same GraphQL query (CliStatus) and against a bare `node -e 0`; what loading the
 * client's modules costs (in-process import of cli/main.ts, and `--help`, which makes no
 * request); and `jobs logs --follow` throughput against a bare graphql-ws client reading the
 * same `jobLog` subscription. Medians of alternating rounds.
 */
const rounds = 15;
const bin = path.join(repoRoot, 'bin', 'backplane.mjs');
const linesBin = path.join(repoRoot, 'test/fixtures/bin/job-lines');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const wall = async (file: string, args: string[], env: Record<string, string> = {}) => {
  const started = performance.now();
  const result = await execa(file, args, { env, reject: false, stdout: 'ignore', stderr: 'pipe' });
  if (result.exitCode !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${result.exitCode}: ${result.stderr}`);
  return performance.now() - started;
};

const fake = await createFakeNvidiaSmi('four-mixed');
const daemon = await spawnBenchDaemon({
  jobs: { maxLogBytes: 1024 * 1024 * 1024 },
  plugins: { 'nvidia-smi': { bin: fake.bin, mode: 'spawn' }, ilab: { mode: 'mock' }, 'vllm-podman': { enabled: false }, 'jobs-test': { module: path.join(repoRoot, 'test/helpers/jobs-test-plugin.ts') } },
});
try {
  const env = { BACKPLANE_URL: daemon.url };
  const query = JSON.stringify({ query: await operationText(cliOperationsFile, 'CliStatus') });
  const curlArgs = ['-sf', `${daemon.url}/graphql`, '-H', 'content-type: application/json', '-d', query];
  const times = { status: [] as number[], statusJson: [] as number[], jobsList: [] as number[], help: [] as number[], curl: [] as number[], node: [] as number[] };
  // Warm-up: fills the compile cache, as any second run of the command finds it.
  await wall(process.execPath, [bin, 'status'], env);
  for (let i = 0; i < rounds; i++) {
    times.curl.push(await wall('curl', curlArgs));
    times.node.push(await wall(process.execPath, ['-e', '0']));
    times.status.push(await wall(process.execPath, [bin, 'status'], env));
    times.statusJson.push(await wall(process.execPath, [bin, 'status', '--json'], env));
    times.jobsList.push(await wall(process.execPath, [bin, 'jobs', 'list'], env));
    times.help.push(await wall(process.execPath, [bin, '--help'], env));
  }
  const probe = `const t = performance.now(); await import(${JSON.stringify(path.join(repoRoot, 'cli/main.ts'))}); process.stdout.write(String(performance.now() - t));`;
  const imports: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const { stdout } = await execa(process.execPath, ['--input-type=module', '-e', `import m from 'node:module'; m.enableCompileCache?.(); ${probe}`]);
    imports.push(Number(stdout));
  }
  report('curl, the CliStatus query', { median_ms: median(times.curl) });
  report('node -e 0 (process start)', { median_ms: median(times.node) });
  report('backplane status', { median_ms: median(times.status), ratio_to_curl: median(times.status) / median(times.curl), over_node_ms: median(times.status) - median(times.node) });
  report('backplane status --json', { median_ms: median(times.statusJson) });
  report('backplane jobs list', { median_ms: median(times.jobsList) });
  report('backplane --help (no request)', { median_ms: median(times.help), over_node_ms: median(times.help) - median(times.node) });
  report('  import cli/main.ts (module loading)', { median_ms: median(imports) });

  // Throughput: a job writes `count` lines after 3 s; each reader asks for the whole log (tail),
  // so a reader that starts late still gets every line.
  const count = 100_000;
  const start = async () =>
    (await gql<{ testStartJob: string }>(daemon.url, 'mutation($a: [String!]!) { testStartJob(fixture: "sh", command: "/bin/sh", args: $a) }', { a: ['-c', `sleep 3; exec "$0" ${count}`, linesBin] })).testStartJob;
  const bareId = await start();
  const client = wsClient(daemon.url);
  let bareLines = 0;
  let bareFirst = 0;
  let bareLast = 0;
  for await (const event of client.iterate<{ jobLog: { lines: string[] } }>({ query: 'subscription($id: ID!) { jobLog(id: $id, tail: 100000) { lines } }', variables: { id: bareId } })) {
    bareLast = performance.now();
    if (bareFirst === 0) bareFirst = bareLast;
    bareLines += event.data!.jobLog.lines.length;
  }
  await client.dispose();
  const cliId = await start();
  const child = execa(process.execPath, [bin, 'jobs', 'logs', cliId, '--follow', '--tail', '100000'], { env, buffer: false, reject: false });
  let cliLines = 0;
  let cliFirst = 0;
  let cliLast = 0;
  child.stdout!.on('data', (chunk: Buffer) => {
    cliLast = performance.now();
    if (cliFirst === 0) cliFirst = cliLast;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) cliLines++;
  });
  const result = await child;
  const bareRate = bareLines / ((bareLast - bareFirst) / 1000);
  const cliRate = cliLines / ((cliLast - cliFirst) / 1000);
  report('jobLog, bare graphql-ws client', { lines: bareLines, lines_per_s: bareRate });
  report('backplane jobs logs --follow', { lines: cliLines, lines_per_s: cliRate, exit: result.exitCode ?? -1 });
  report('  ratio (aim >= 0.5)', { ratio: cliRate / bareRate });
  if (cliLines !== count || bareLines !== count || result.exitCode !== 0) process.exitCode = 1;
} finally {
  await daemon.stop();
  await fake.remove();
}
