import { parseArgs } from 'node:util';
import type { ChaosDaemon } from './daemon.ts';
import { formatReport } from './report.ts';
import { runChaos } from './run.ts';

/**
 * `npm run chaos -- --rounds N [--seed S] [--keep]`: starts the daemon, submits random jobs,
 * kills it at random moments, restarts it, and at the end checks every job against the ledger
 * its wrapper wrote. Exit code 0 only when everything holds; 2 when the run hit its time limit.
 */
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    seed: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'max-concurrent': { type: 'string', default: '2' },
    'max-seconds': { type: 'string' },
  },
});
const rounds = positiveInt('rounds', values.rounds!);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positiveInt('seed', values.seed, true);
const maxConcurrent = positiveInt('max-concurrent', values['max-concurrent']!);
// Rounds take a few seconds each; the final boot, settle, stop and checks get a fixed share.
const maxSeconds = values['max-seconds'] === undefined ? 60 + rounds * 15 + 180 : positiveInt('max-seconds', values['max-seconds']);
const settleSeconds = Math.min(120, Math.max(15, Math.floor(maxSeconds / 4)));
const finalSeconds = settleSeconds + 25;
if (maxSeconds < finalSeconds + 10) {
  console.error(`chaos: --max-seconds must be at least ${finalSeconds + 10}`);
  process.exit(64);
}

const current: { daemon?: ChaosDaemon } = {};
const watchdog = setTimeout(() => {
  console.log(`chaos: TIMED OUT after ${maxSeconds} s (seed ${seed})`);
  current.daemon?.kill('SIGKILL');
  process.exit(2);
}, maxSeconds * 1000);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    current.daemon?.kill('SIGKILL');
    process.exit(130);
  });
}

const report = await runChaos({
  rounds,
  seed,
  keep: values.keep!,
  maxConcurrent,
  settleTimeoutMs: settleSeconds * 1000,
  roundsDeadlineMs: (maxSeconds - finalSeconds) * 1000,
  print: (line) => console.log(line),
  current,
});
for (const line of formatReport(report, seed)) console.log(line);
clearTimeout(watchdog);
process.exitCode = report.ok ? 0 : 1;

function positiveInt(name: string, text: string, zeroOk = false): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < (zeroOk ? 0 : 1)) {
    console.error(`chaos: --${name} expects a ${zeroOk ? 'non-negative' : 'positive'} integer, got '${text}'`);
    process.exit(64);
  }
  return value;
}
