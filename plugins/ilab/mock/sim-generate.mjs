// `ilab data generate`: SDG's INFO lines on stderr, Map bars, and the files of one run directory.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { log, option, runBar, sleep } from './sim-format.mjs';

const pad = (n) => String(n).padStart(2, '0');

function countSeeds(dir) {
  let count = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory()) count += countSeeds(path.join(dir, entry.name));
    else if (entry.name === 'qna.yaml') count++;
  }
  return count;
}

/** A run directory that does not exist yet: `2025-01-28_021103`, and the file stamp `2025-01-28T02_11_05`. */
function newRun(datasetsDir) {
  const at = new Date();
  for (;;) {
    const date = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
    const run = `${date}_${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
    if (!existsSync(path.join(datasetsDir, run))) return { run, stamp: `${date}T${pad(at.getHours())}_${pad(at.getMinutes())}_${pad(at.getSeconds())}` };
    at.setSeconds(at.getSeconds() + 1);
  }
}

export async function generate(args, { modelsDir, datasetsDir, home }) {
  const started = Date.now();
  const pipeline = option(args, '--pipeline') ?? 'full';
  const taxonomy = option(args, '--taxonomy-path') ?? path.join(home, '.local', 'share', 'instructlab', 'taxonomy');
  const teacher = path.join(modelsDir, 'mixtral-8x7b-instruct-v0-1');
  log('INFO', 'instructlab.data.generate_data:204', `Generating synthetic data using '${pipeline}' pipeline, '${teacher}' model, '${taxonomy}' taxonomy, against http://127.0.0.1:41235/v1 server`);
  if (!existsSync(taxonomy)) {
    log('ERROR', 'instructlab.data.generate_data:221', `taxonomy path does not exist: ${taxonomy}`);
    process.exit(1);
  }
  const seeds = countSeeds(taxonomy);
  await sleep();
  const { run, stamp } = newRun(datasetsDir);
  const runDir = path.join(datasetsDir, run);
  mkdirSync(path.join(runDir, `preprocessed_${stamp}`), { recursive: true });
  log('INFO', 'instructlab.sdg.generate_data:401', `Taxonomy converted to samples and written to ${path.join(runDir, `preprocessed_${stamp}`)}`);
  log('INFO', 'instructlab.sdg.generate_data:438', "Synthesizing new instructions. If you aren't satisfied with the generated instructions, interrupt training (Ctrl-C) and try adjusting your YAML files. Adding more examples may help.");
  for (const label of ['Map (num_proc=8)', 'Filter (num_proc=8)', 'Map (num_proc=8)']) await runBar(process.stderr, label, 4);
  const samples = 30 * Math.max(1, seeds);
  log('INFO', 'instructlab.sdg.generate_data:474', `Generated ${samples} samples`);
  const line = (i) => `${JSON.stringify({ messages: [{ role: 'user', content: `Simulated question ${i}` }, { role: 'assistant', content: `Simulated answer ${i}` }], metadata: { simulated: true } })}\n`;
  const body = Array.from({ length: Math.min(samples, 50) }, (_, i) => line(i + 1)).join('');
  for (const prefix of ['knowledge_train_msgs', 'skills_train_msgs', 'messages', 'train', 'test']) writeFileSync(path.join(runDir, `${prefix}_${stamp}.jsonl`), body);
  writeFileSync(path.join(runDir, `knowledge_recipe_${stamp}.yaml`), `# simulated recipe\ndatasets:\n  - path: knowledge_train_msgs_${stamp}.jsonl\n`);
  await sleep();
  log('INFO', 'instructlab.sdg.generate_data:732', `Generation took ${((Date.now() - started) / 1000).toFixed(2)}s`);
}
