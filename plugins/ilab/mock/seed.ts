import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger, ProcessService } from '../../../core/plugin-api.ts';
import type { IlabPaths } from '../paths.ts';

/** Placeholder models of the mock home, with the sizes the simulator reports for them. */
const models: { name: string; bytes: number; gguf?: true }[] = [
  { name: 'granite-8b-starter-v1', bytes: 16_318_971_904 },
  { name: 'granite-7b-lab-Q4_K_M.gguf', bytes: 4_081_004_224, gguf: true },
  { name: 'instructlab/granite-7b-lab', bytes: 13_476_839_424 },
  { name: 'mixtral-8x7b-instruct-v0-1', bytes: 93_415_538_688 },
];

const qna = (domain: string, question: string, answer: string) =>
  `version: 3\ndomain: ${domain}\ncreated_by: backplane-mock\nseed_examples:\n  - context: |\n      ${answer}\n    questions_and_answers:\n      - question: ${question}\n        answer: ${answer}\ndocument_outline: Simulated knowledge for mock mode\n`;

/**
 * Fills an empty mock home with what ilab would have downloaded (tiny placeholder files the
 * simulator reports at realistic sizes) and, unless a taxonomy is configured, a small taxonomy
 * git repository with a `main` and a `demo/knowledge-update` branch. Never touches a home that
 * already has models, so a developer's own mock data survives restarts.
 */
export async function seedMockHome(paths: IlabPaths, { processes, logger, withTaxonomy }: { processes: ProcessService; logger: Logger; withTaxonomy: boolean }): Promise<void> {
  await Promise.all([paths.models, paths.datasets, paths.checkpoints].map((dir) => mkdir(dir, { recursive: true })));
  if ((await readdir(paths.models)).length === 0) {
    for (const model of models) {
      const target = path.join(paths.models, model.name);
      await mkdir(path.dirname(target), { recursive: true });
      if (model.gguf) {
        await writeFile(target, Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(28)]));
      } else {
        await mkdir(target, { recursive: true });
        await writeFile(path.join(target, 'config.json'), `${JSON.stringify({ architectures: ['GraniteForCausalLM'], model_type: 'granite', simulated: true }, null, 2)}\n`);
        for (const file of ['tokenizer.json', 'tokenizer_config.json']) await writeFile(path.join(target, file), '{"simulated":true}\n');
        await writeFile(path.join(target, 'model.safetensors'), 'simulated weights\n');
      }
      await writeFile(`${target}.ilab-sim.json`, `${JSON.stringify({ bytes: model.bytes })}\n`);
    }
    logger.info('seeded the mock home', { home: paths.home });
  }
  if (withTaxonomy && !existsSync(paths.taxonomy)) await seedTaxonomy(paths.taxonomy, processes, logger);
}

async function seedTaxonomy(dir: string, processes: ProcessService, logger: Logger): Promise<void> {
  const write = async (rel: string, text: string) => {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  };
  await write('knowledge/history/backplane/qna.yaml', qna('history', 'When was backplane written?', 'In the mock mode of its ilab plugin.'));
  await write('compositional_skills/writing/haiku/qna.yaml', qna('writing', 'Write a haiku about GPUs.', 'Silicon hums warm.'));
  const git = (...args: string[]) => processes.run('git', ['-C', dir, '-c', 'user.name=backplane', '-c', 'user.email=backplane@localhost', ...args]);
  const steps: string[][] = [
    ['init', '--quiet', '--initial-branch=main'],
    ['add', '--all'],
    ['commit', '--quiet', '--message', 'Seed taxonomy (backplane mock mode)'],
    ['switch', '--quiet', '--create', 'demo/knowledge-update'],
  ];
  for (const args of steps) {
    const result = await git(...args);
    if (result.failed) {
      logger.warn('could not make the mock taxonomy a git repository; training from a branch will not work', { error: result.spawnError ?? result.stderr.trim() });
      return;
    }
  }
  await write('knowledge/history/update/qna.yaml', qna('history', 'What does the demo branch add?', 'One more seed example.'));
  for (const args of [['add', '--all'], ['commit', '--quiet', '--message', 'Add a knowledge update'], ['switch', '--quiet', 'main']]) await git(...args);
}
