// The ilab simulator of mock mode (plugins.ilab.mode: mock): answers the ilab commands backplane
// runs with ilab 0.26's output formats and realistic pacing, on the directories it is given, so a
// laptop without GPUs or InstructLab can drive the whole UI. Run by backplane as
// `<node> ilab-sim.mjs <ilab args…>`; see docs/ilab.md.
import path from 'node:path';
import { dataList, modelList } from './sim-lists.mjs';
import { generate } from './sim-generate.mjs';
import { serve } from './sim-serve.mjs';
import { convert, train } from './sim-train.mjs';
import { usage } from './sim-format.mjs';

const home = process.env.ILAB_SIM_HOME ?? process.cwd();
const share = path.join(home, '.local', 'share', 'instructlab');
const dirs = {
  home,
  modelsDir: process.env.ILAB_SIM_MODELS_DIR ?? path.join(home, '.cache', 'instructlab', 'models'),
  datasetsDir: process.env.ILAB_SIM_DATASETS_DIR ?? path.join(share, 'datasets'),
  checkpointsDir: process.env.ILAB_SIM_CHECKPOINTS_DIR ?? path.join(share, 'checkpoints', 'hf_format'),
};

const [group, command, ...rest] = process.argv.slice(2);
if (group === '--version') {
  process.stdout.write('ilab, version 0.26.1 (backplane simulator)\n');
} else if (group === 'model' && command === 'list') {
  modelList(dirs.modelsDir);
} else if (group === 'data' && command === 'list') {
  dataList(dirs.datasetsDir);
} else if (group === 'data' && command === 'generate') {
  await generate(rest, dirs);
} else if (group === 'model' && command === 'train') {
  await train(rest, dirs);
} else if ((group === 'model' && command === 'serve') || group === 'serve') {
  await serve(group === 'serve' ? [command, ...rest].filter((a) => a !== undefined) : rest);
} else if (group === 'model' && command === 'convert') {
  await convert(rest);
} else {
  usage(`No such command '${[group, command].filter(Boolean).join(' ')}'.`);
}
