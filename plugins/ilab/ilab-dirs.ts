import path from 'node:path';
import YAML, { isMap, isScalar } from 'yaml';

/** The directories ilab itself uses, as far as `ilab config show` tells them. */
export interface IlabReportedDirs {
  taxonomy?: string;
  datasets?: string;
  checkpoints?: string;
  models?: string;
}

/**
 * Reads ilab's directories from `ilab config show`: the YAML of the loaded configuration, with
 * each key's description and `Default: …` in comments above it (ilab ≥ 0.18; older versions
 * print the bare YAML).
 *
 * - taxonomy: `generate.taxonomy_path`; datasets: `generate.output_dir`;
 * - checkpoints: `train.ckpt_output_dir` + `/hf_format` (where instructlab-training writes the
 *   Hugging Face checkpoints);
 * - models: ilab's models directory is not a setting; its default model is
 *   `<models dir>/<file>`, so the directory is that of the `Default:` of `chat.model` (or
 *   `serve.model_path`).
 *
 * Only absolute paths count. Throws when the text is not a YAML mapping.
 */
export function parseConfigShow(text: string): IlabReportedDirs {
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.contents)) throw new Error(`not ilab's configuration: ${doc.errors[0]?.message ?? 'expected a YAML mapping'}`);
  const value = (...keys: string[]) => {
    const found: unknown = doc.getIn(keys);
    return typeof found === 'string' && path.isAbsolute(found) ? path.normalize(found) : undefined;
  };
  const checkpoints = value('train', 'ckpt_output_dir');
  const dirs: IlabReportedDirs = {
    taxonomy: value('generate', 'taxonomy_path'),
    datasets: value('generate', 'output_dir'),
    checkpoints: checkpoints && path.join(checkpoints, 'hf_format'),
    models: defaultModelDir(doc, ['chat', 'model']) ?? defaultModelDir(doc, ['serve', 'model_path']),
  };
  return Object.fromEntries(Object.entries(dirs).filter(([, v]) => v !== undefined));
}

/** The directory of the `Default: /…/<model>` comment above a key. */
function defaultModelDir(doc: YAML.Document, keys: [string, string]): string | undefined {
  const section = doc.get(keys[0], true);
  if (!isMap(section)) return undefined;
  const at = section.items.findIndex((item) => isScalar(item.key) && item.key.value === keys[1]);
  const key = section.items[at]?.key;
  // The parser hangs the comment above a mapping's first key on the mapping itself.
  const comment = (isScalar(key) ? key.commentBefore : undefined) ?? (at === 0 ? section.commentBefore : undefined);
  const match = comment ? /^\s*Default:\s*(\/\S.*?)\s*$/m.exec(comment) : null;
  return match ? path.dirname(path.normalize(match[1])) : undefined;
}
