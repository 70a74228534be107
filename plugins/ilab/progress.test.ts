import { expect, test } from 'vitest';
import { progressLines } from '../../core/jobs/progress-lines.ts';
import { parseConvertProgress, parseGenerateProgress, parseQnaEvalProgress, parseServeProgress, parseTrainProgress } from './progress.ts';

/** What the job service does before calling a parser: colours off, `\r` frames split. */
const feed = (parser: (line: string) => unknown, raw: string) => progressLines(raw.split('\n')).map(parser).filter((p) => p !== undefined);

test('data generate: INFO lines on stderr and Map bars', () => {
  const log = [
    "INFO 2025-01-28 02:11:05,412 instructlab.data.generate_data:204: Generating synthetic data using 'full' pipeline, '/m/mixtral' model, '/t' taxonomy, against http://127.0.0.1:41235/v1 server",
    'INFO 2025-01-28 02:11:07,001 instructlab.sdg.generate_data:401: Taxonomy converted to samples and written to /d/preprocessed',
    "INFO 2025-01-28 02:11:07,210 instructlab.sdg.generate_data:438: Synthesizing new instructions. If you aren't satisfied …",
    'Map (num_proc=8):   0%|          | 0/100 [00:00<?, ? examples/s]\rMap (num_proc=8):  45%|████▌     | 45/100 [00:01<00:01, 40 examples/s]\rMap (num_proc=8): 100%|██████████| 100/100 [00:02<00:00, 45 examples/s]',
    'INFO 2025-01-28 05:31:02,877 instructlab.sdg.generate_data:474: Generated 1342 samples',
    'INFO 2025-01-28 05:38:29,104 instructlab.sdg.generate_data:732: Generation took 12443.69s',
  ].join('\n');
  expect(feed(parseGenerateProgress, log)).toEqual([
    { fraction: 0, message: 'generating with the full pipeline' },
    { message: 'taxonomy converted to samples' },
    { message: 'synthesizing new instructions' },
    { message: 'Map: 0/100 (0%)' },
    { message: 'Map: 45/100 (45%)' },
    { message: 'Map: 100/100 (100%)' },
    { message: 'generated 1342 samples' },
    { fraction: 1, message: 'generation took 12443.69s' },
  ]);
});

test('model train: torchrun line, ANSI-coloured tqdm bars with \\r, Epoch/Step lines, metric dicts, saves', () => {
  const log = [
    '[ILAB TRAIN COMMAND] /usr/bin/ilab [model train --pipeline accelerated --num-epochs=2]',
    'Running training command as subprocess: torchrun --nnodes=1 … --output_dir=/c',
    '\u001b[92mEpoch 0:   0%|          | 0/50 [00:00<?, ?it/s]\rEpoch 0:  12%|█▏        | 6/50 [00:41<04:58,  6.78s/it]\u001b[0m',
    '\u001b[93mEpoch: 0, Step: 7, Rank: 0, loss = 1.2345\u001b[0m',
    '{',
    '    "epoch": 0,',
    '    "samples_seen": 896,',
    '    "total_samples": 6400,',
    '}',
    'Saving model in huggingface format at: samples_1024',
    'Epoch: 1, Step: 3',
    'Saving Model to: /home/u/.local/share/instructlab/checkpoints/hf_format/samples_16',
    'Operation completed successfully! 🎉',
  ].join('\n');
  expect(feed(parseTrainProgress, log)).toEqual([
    { fraction: 0, message: 'training started' },
    { message: 'epoch 0: step 0/50 (0%)' },
    { message: 'epoch 0: step 6/50 (12%)' },
    { message: 'epoch 0, step 7, loss 1.2345' },
    { message: '896 samples seen' },
    { message: 'saving checkpoint samples_1024' },
    { message: 'epoch 1, step 3' },
    { message: 'saving checkpoint samples_16' },
    { fraction: 1, message: 'training completed' },
  ]);
});

test('model serve: loading, then ready on the uvicorn or llama.cpp line', () => {
  expect(parseServeProgress('INFO:     Started server process [1]')).toEqual({ fraction: 0, message: 'loading the model' });
  expect(parseServeProgress('INFO:     Uvicorn running on http://127.0.0.1:8001 (Press CTRL+C to quit)')).toEqual({ fraction: 1, message: 'serving on http://127.0.0.1:8001' });
  expect(parseServeProgress('INFO 2025-01-28 02:11:05,412 instructlab.model.backends.llama_cpp:306: After application startup complete see http://127.0.0.1:8000/docs for API.')).toEqual({
    fraction: 1,
    message: 'serving on http://127.0.0.1:8000',
  });
  expect(parseServeProgress('GET /v1/models 200')).toBeUndefined();
});

test('model convert and qna-eval', () => {
  expect(parseConvertProgress('[INFO] Loading')).toEqual({ message: 'Loading' });
  expect(parseConvertProgress(' 40%|████      | 4/10 [00:01<00:02]')).toEqual({ message: 'converting: 4/10 (40%)' });
  expect(parseConvertProgress('Conversion completed')).toEqual({ fraction: 1, message: 'conversion completed' });
  expect(parseQnaEvalProgress('Q2: What is the capital?')).toEqual({ message: 'question 2' });
  expect(parseQnaEvalProgress('A2: Paris')).toBeUndefined();
});

test('training progress combines the epoch bar with the job\'s --num-epochs', async () => {
  const { trainProgress } = await import('./progress.ts');
  const parse = trainProgress({ args: ['model', 'train', '--num-epochs=2'] } as never);
  expect(parse('Epoch 0:  50%|█████     | 25/50 [00:41<04:58,  6.78s/it]')?.fraction).toBeCloseTo(0.25);
  expect(parse('Epoch 1:  50%|█████     | 25/50 [00:41<04:58,  6.78s/it]')?.fraction).toBeCloseTo(0.75);
  expect(parse('Operation completed successfully! 🎉')?.fraction).toBe(1);
  const unknown = trainProgress({ args: ['model', 'train'] } as never);
  expect(unknown('Epoch 0:  50%|█████     | 25/50 [00:41<04:58,  6.78s/it]')?.fraction).toBeUndefined();
});
