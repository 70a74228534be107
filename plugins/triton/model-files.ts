import { InputError, PayloadTooLargeError, type UploadedFile } from '../../core/plugin-api.ts';

/** Triton model names backplane accepts (a directory name Triton would index). */
export const modelNamePattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Triton serves numeric version folders only; names starting with `0` are ignored, so refused. */
export const versionPattern = /^[1-9][0-9]{0,17}$/;
const segmentPattern = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,254}$/;

/** One validated file: where it goes, relative to the model folder. */
export interface PlacedFile {
  source: UploadedFile;
  /** Relative to the model folder, `/`-separated: `config.pbtxt`, `1/model.onnx`. */
  target: string;
}

/**
 * Checks a file name sent by a client and returns its segments: relative, no `..` or `.`, no
 * empty segment, no backslash or NUL, plain characters only. A name prefixed with the model's
 * own folder (`resnet/1/model.onnx`) is taken relative to it.
 */
export function fileSegments(filename: string, model: string): string[] {
  if (filename === '' || filename.includes('\0') || filename.includes('\\')) throw new InputError(`File name is not allowed: ${JSON.stringify(filename)}`);
  if (filename.startsWith('/') || /^[A-Za-z]:/.test(filename)) throw new InputError(`File name must be relative to the model folder: ${JSON.stringify(filename)}`);
  const segments = filename.split('/');
  if (segments.some((s) => s === '..' || s === '.')) throw new InputError(`File name escapes the model folder: ${JSON.stringify(filename)}`);
  if (segments.some((s) => !segmentPattern.test(s))) throw new InputError(`File name is not allowed: ${JSON.stringify(filename)}`);
  return segments.length > 1 && segments[0] === model ? segments.slice(1) : segments;
}

/** What `config.pbtxt` says about the model (only what backplane checks). */
export interface ModelConfigFacts {
  name: string | undefined;
  platform: string | undefined;
  backend: string | undefined;
}

/** Reads `name`, `platform` and `backend` from protobuf text format (top-level keys only). */
export function readConfigFacts(text: string): ModelConfigFacts {
  // Nested blocks (input [ … ], instance_group …) are dropped so their `name:` keys are not read.
  let depth = 0;
  let top = '';
  for (const line of text.replace(/#[^\n]*/g, '').split('')) {
    if (line === '{' || line === '[') depth++;
    else if (line === '}' || line === ']') depth--;
    else if (depth === 0) top += line;
  }
  const key = (k: string) => new RegExp(`(?:^|\\s)${k}\\s*:\\s*"([^"]*)"`).exec(top)?.[1];
  return { name: key('name'), platform: key('platform'), backend: key('backend') };
}

/** Checks a config's platform/backend against the allow-list and its name against the folder. */
export function checkConfig(facts: ModelConfigFacts, model: string, platforms: readonly string[]): void {
  if (facts.name !== undefined && facts.name !== model) throw new InputError(`config.pbtxt names the model '${facts.name}', but its folder is '${model}'`);
  const kind = facts.platform ?? facts.backend;
  if (kind === undefined) throw new InputError('config.pbtxt must set platform or backend');
  if (!platforms.includes(kind)) throw new InputError(`Unknown platform or backend '${kind}' (accepted: ${platforms.join(', ')})`);
}

export interface LayoutOptions {
  model: string;
  maxBytes: number;
  /** `model`: a whole model (config.pbtxt and at least one version); `version`: files of one new version. */
  kind: 'model' | 'version';
  /** For `version`: the version files without a version folder go into. */
  nextVersion?: string;
}

/**
 * Validates the layout of uploaded files and where each goes: `config.pbtxt` at the top, model
 * files under numeric version folders, label files (`*.txt`) and `configs/*.pbtxt` beside it.
 */
export function placeFiles(files: readonly UploadedFile[], { model, maxBytes, kind, nextVersion }: LayoutOptions): PlacedFile[] {
  if (files.length === 0) throw new InputError('No files were uploaded');
  const total = files.reduce((sum, f) => sum + f.bytes, 0);
  if (total > maxBytes) throw new PayloadTooLargeError(`The model's files are ${total} bytes, over the limit of ${maxBytes} bytes`);
  const placed: PlacedFile[] = [];
  for (const source of files) {
    let segments = fileSegments(source.filename, model);
    // A version upload may send bare files: they go into the next version.
    if (kind === 'version' && segments.length === 1 && segments[0] !== 'config.pbtxt' && nextVersion) segments = [nextVersion, ...segments];
    const [first] = segments as [string, ...string[]];
    const top = segments.length === 1;
    const allowed =
      (top && (first === 'config.pbtxt' || first.endsWith('.txt'))) ||
      (segments.length === 2 && first === 'configs' && segments[1]!.endsWith('.pbtxt')) ||
      (!top && versionPattern.test(first));
    if (!allowed) throw new InputError(`File is not part of a Triton model layout (config.pbtxt, <version>/…, labels .txt, configs/*.pbtxt): ${JSON.stringify(source.filename)}`);
    placed.push({ source, target: segments.join('/') });
  }
  const targets = new Set<string>();
  for (const { target } of placed) {
    if (targets.has(target)) throw new InputError(`File uploaded twice: ${target}`);
    targets.add(target);
  }
  // A file and a folder of the same name cannot both exist.
  for (const target of targets) {
    const parts = target.split('/');
    for (let i = 1; i < parts.length; i++) if (targets.has(parts.slice(0, i).join('/'))) throw new InputError(`File and folder of the same name: ${parts.slice(0, i).join('/')}`);
  }
  const versions = new Set(placed.filter((p) => p.target.includes('/') && versionPattern.test(p.target.split('/')[0]!)).map((p) => p.target.split('/')[0]!));
  if (kind === 'model' && !targets.has('config.pbtxt')) throw new InputError('A model upload needs a config.pbtxt');
  if (versions.size === 0) throw new InputError('No version folder: model files go into <version>/…, e.g. 1/model.onnx');
  if (kind === 'version' && versions.size !== 1) throw new InputError('A version upload holds exactly one version folder');
  return placed;
}
