// `ilab model train` (accelerated pipeline output of instructlab-training) and `ilab model convert`.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { option, runBar, sleep, tqdmFrame } from './sim-format.mjs';

const green = (s) => `\u001b[92m${s}\u001b[0m`;
const yellow = (s) => `\u001b[93m${s}\u001b[0m`;
const stepsPerEpoch = 4;
const samplesPerStep = 128;

function writeCheckpoint(dir) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify({ architectures: ['GraniteForCausalLM'], model_type: 'granite', simulated: true }, null, 2)}\n`);
  writeFileSync(path.join(dir, 'tokenizer.json'), '{"version":"1.0","simulated":true}\n');
  writeFileSync(path.join(dir, 'tokenizer_config.json'), '{"model_max_length":4096}\n');
  writeFileSync(path.join(dir, 'special_tokens_map.json'), '{}\n');
  writeFileSync(path.join(dir, 'model.safetensors'), 'simulated weights\n');
  writeFileSync(`${dir}.ilab-sim.json`, `${JSON.stringify({ bytes: 16_318_971_904 })}\n`);
}

export async function train(args, { checkpointsDir, datasetsDir }) {
  const modelPath = option(args, '--model-path') ?? option(args, '--gguf-model-path');
  const epochs = Number(option(args, '--num-epochs') ?? 2);
  const pipeline = option(args, '--pipeline') ?? 'accelerated';
  const dataPath = option(args, '--data-path') ?? datasetsDir;
  if (!modelPath || !existsSync(modelPath)) {
    process.stderr.write(`Error: model path does not exist: ${modelPath}\n`);
    process.exit(1);
  }
  const outputDir = path.dirname(checkpointsDir);
  process.stdout.write(
    `Running training command as subprocess: torchrun --nnodes=1 --node_rank=0 --nproc_per_node=1 --rdzv_id=123 --rdzv_endpoint=127.0.0.1:12222 instructlab/training/main_ds.py --model_name_or_path=${modelPath} --data_path=${dataPath} --output_dir=${outputDir} --num_epochs=${epochs} --effective_batch_size=128 --save_samples=${stepsPerEpoch * samplesPerStep} --cpu_offload_optimizer --pipeline=${pipeline}\n`,
  );
  await sleep();
  const total = epochs * stepsPerEpoch * samplesPerStep;
  let seen = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let step = 1; step <= stepsPerEpoch; step++) {
      // tqdm draws on stderr with \r; the metrics go to stdout, so the two interleave in the log.
      process.stderr.write(`${green(tqdmFrame(`Epoch ${epoch}`, step - 1, stepsPerEpoch))}\r`);
      await sleep();
      seen += samplesPerStep;
      const loss = (1.8 / (1 + epoch * stepsPerEpoch + step)).toFixed(4);
      process.stdout.write(`${yellow(`Epoch: ${epoch}, Step: ${epoch * stepsPerEpoch + step}, Rank: 0, loss = ${loss}`)}\n`);
      const metrics = { epoch, step: epoch * stepsPerEpoch + step, rank: 0, overall_throughput: 31.2, lr: 2e-5, cuda_mem_allocated: 41.7, cuda_malloc_retries: 0, num_loss_counted_tokens: 98231, batch_size: samplesPerStep, total_loss: Number(loss), samples_seen: seen, gradnorm: 3.14, total_samples: total, timestamp: new Date().toISOString() };
      process.stdout.write(`${JSON.stringify(metrics, null, 4)}\n`);
    }
    process.stderr.write(`${green(tqdmFrame(`Epoch ${epoch}`, stepsPerEpoch, stepsPerEpoch))}\n`);
    const name = `samples_${seen}`;
    process.stdout.write(`${green(`Saving model in huggingface format at: ${name}`)}\n`);
    writeCheckpoint(path.join(checkpointsDir, name));
    process.stdout.write(`${green(`Model saved in ${path.join(checkpointsDir, name)}`)}\n`);
  }
  process.stdout.write(`${green('Operation completed successfully! 🎉')}\n`);
}

export async function convert(args) {
  const modelDir = option(args, '--model-dir');
  if (!modelDir || !existsSync(modelDir)) {
    process.stderr.write(`Error: model directory does not exist: ${modelDir}\n`);
    process.exit(1);
  }
  process.stdout.write('[INFO] Loading\n');
  await sleep();
  process.stdout.write('[INFO] Quantizing\n');
  await runBar(process.stdout, 'Converting', 4);
  const out = path.join(modelDir, `${path.basename(modelDir)}-Q4_K_M.gguf`);
  writeFileSync(out, Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(28)]));
  process.stdout.write(`Wrote ${out}\nConversion completed\n`);
}
