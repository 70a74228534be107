import { expect, test } from 'vitest';
import { parseConfigShow } from './ilab-dirs.ts';

// The shape `ilab config show` prints (ruamel.yaml of config_to_commented_map), abridged.
const commented = `# Chat configuration section.
chat:
  # Model to be used for chatting with.
  # Default: /data/cache/instructlab/models/merlinite-7b-lab-Q4_K_M.gguf
  model: /elsewhere/granite-7b-lab-Q4_K_M.gguf
generate:
  # Directory where generated datasets are stored.
  # Default: /home/u/.local/share/instructlab/datasets
  output_dir: /srv/ilab/datasets
  # Directory where taxonomy is stored and accessed from.
  # Default: /home/u/.local/share/instructlab/taxonomy
  taxonomy_path: /srv/ilab/taxonomy
  teacher:
    vllm:
      vllm_args:
        - --tensor-parallel-size
        - '1'
train:
  # Directory where periodic training checkpoints are stored.
  # Default: /home/u/.local/share/instructlab/checkpoints
  ckpt_output_dir: /srv/ilab/checkpoints

`;

test('values for the configured directories; the models directory from the default model', () => {
  expect(parseConfigShow(commented)).toEqual({
    taxonomy: '/srv/ilab/taxonomy',
    datasets: '/srv/ilab/datasets',
    checkpoints: '/srv/ilab/checkpoints/hf_format',
    models: '/data/cache/instructlab/models',
  });
});

test('older ilab printed bare YAML: no models directory; relative values do not count', () => {
  expect(parseConfigShow('chat:\n    model: models/merlinite-7b-lab-Q4_K_M.gguf\ngenerate:\n    output_dir: generated\n    taxonomy_path: /t\n')).toEqual({ taxonomy: '/t' });
});

test('anything but a YAML mapping is refused', () => {
  expect(() => parseConfigShow('Error: `config.yaml` does not exist')).toThrow(/not ilab's configuration/);
  expect(() => parseConfigShow('chat: [unclosed')).toThrow(/not ilab's configuration/);
});
