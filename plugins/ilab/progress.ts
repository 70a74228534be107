import type { JobProgress, ProgressParser, ProgressParserFactory } from '../../core/plugin-api.ts';

/**
 * Progress parsers for ilab's own output (see docs/ilab.md). The job service hands each one line
 * at a time, with ANSI colours removed and every `\r` frame of a tqdm bar as its own line.
 *
 * The line parsers keep no state; the training factory makes one parser per job that combines
 * the epoch bar with the job's `--num-epochs` into a fraction. Elsewhere, where a line only tells
 * part of the story (one tqdm bar of several), it yields a message, not a fraction.
 */

type Progress = Partial<JobProgress> | undefined;

const tqdm = /(?:^|\s)(\d{1,3})%\|[^|]*\|\s*(\d+)\/(\d+)/;

/** `ilab data generate`: INFO lines on stderr and the `Map: …%` bars of the datasets library. */
export const parseGenerateProgress: ProgressParser = (line): Progress => {
  let match = /Generating synthetic data using '([^']+)' pipeline/.exec(line);
  if (match) return { fraction: 0, message: `generating with the ${match[1]} pipeline` };
  if (/Taxonomy converted to samples/.test(line)) return { message: 'taxonomy converted to samples' };
  if (/Synthesizing new instructions/.test(line)) return { message: 'synthesizing new instructions' };
  match = /^\s*([A-Za-z][\w ]*?)(?: \(num_proc=\d+\))?:\s+(\d{1,3})%\|[^|]*\|\s*(\d+)\/(\d+)/.exec(line);
  if (match) return { message: `${match[1].trim()}: ${match[3]}/${match[4]} (${match[2]}%)` };
  match = /Generated (\d+) samples/.exec(line);
  if (match) return { message: `generated ${match[1]} samples` };
  match = /Generation took ([\d.]+)s/.exec(line);
  if (match) return { fraction: 1, message: `generation took ${match[1]}s` };
  return undefined;
};

/** `ilab model train`: tqdm epoch bars, `Epoch: N, Step: M` lines, metric dicts, checkpoint saves. */
export const parseTrainProgress: ProgressParser = (line): Progress => {
  let match = /^Epoch (\d+):\s/.test(line) ? tqdm.exec(line) : null;
  if (match) return { message: `epoch ${/^Epoch (\d+)/.exec(line)![1]}: step ${match[2]}/${match[3]} (${match[1]}%)` };
  match = /Epoch: (\d+), Step: (\d+)(?:, Rank: \d+)?(?:, loss = ([\d.eE+-]+))?/.exec(line);
  if (match) return { message: `epoch ${match[1]}, step ${match[2]}${match[3] ? `, loss ${match[3]}` : ''}` };
  match = /^\s*"samples_seen": (\d+)/.exec(line);
  if (match) return { message: `${match[1]} samples seen` };
  match = /Saving model in huggingface format at: (\S+)|Saving Model to: .*\/(samples_\d+|last_epoch)\s*$/.exec(line);
  if (match) return { message: `saving checkpoint ${match[1] ?? match[2]}` };
  if (/Running training command as subprocess/.test(line)) return { fraction: 0, message: 'training started' };
  if (/Operation completed successfully/.test(line)) return { fraction: 1, message: 'training completed' };
  return undefined;
};

/** `ilab model serve` (llama.cpp or vLLM backend): ready once the HTTP server listens. */
export const parseServeProgress: ProgressParser = (line): Progress => {
  const match = /Uvicorn running on (\S+)|After application startup complete see (\S+?)\/docs/.exec(line);
  if (match) return { fraction: 1, message: `serving on ${match[1] ?? match[2]}` };
  if (/Start(?:ed|ing) server process|Starting vLLM API server|Loading model|Serving model/i.test(line)) return { fraction: 0, message: 'loading the model' };
  return undefined;
};

/** `ilab model convert`: MLX/llama.cpp conversion steps. */
export const parseConvertProgress: ProgressParser = (line): Progress => {
  const bar = tqdm.exec(line);
  if (bar) return { message: `converting: ${bar[2]}/${bar[3]} (${bar[1]}%)` };
  const match = /(Loading|Quantizing|Converting|Saving|Writing)\b.*/.exec(line);
  if (match) return { message: match[0].slice(0, 120) };
  if (/Conversion completed|Model saved|Wrote /i.test(line)) return { fraction: 1, message: 'conversion completed' };
  return undefined;
};

/** The qna-eval container: `Q<n>: …` per seed question. */
export const parseQnaEvalProgress: ProgressParser = (line): Progress => {
  const match = /^Q(\d+): /.exec(line);
  return match ? { message: `question ${match[1]}` } : undefined;
};

/**
 * Training progress for one job: `Epoch E:` bars (E counts from 0) against the job's
 * `--num-epochs=N` give a fraction; everything else comes from {@link parseTrainProgress}.
 */
export const trainProgress: ProgressParserFactory = (job) => {
  const epochsArg = job.args.find((a) => a.startsWith('--num-epochs='));
  const epochs = epochsArg ? Number(epochsArg.slice('--num-epochs='.length)) : NaN;
  return (line) => {
    const parsed = parseTrainProgress(line);
    const bar = /^Epoch (\d+):\s/.exec(line) ? tqdm.exec(line) : null;
    if (!bar || !Number.isInteger(epochs) || epochs < 1) return parsed;
    const epoch = Number(/^Epoch (\d+)/.exec(line)![1]);
    // Never 1 before the run says it completed.
    const fraction = Math.min(0.99, (epoch + Number(bar[2]) / Number(bar[3])) / epochs);
    return { ...parsed, fraction };
  };
};

/** Stateless parsers as the job service takes them: one per job, here always the same function. */
export const generateProgress: ProgressParserFactory = () => parseGenerateProgress;
export const serveProgress: ProgressParserFactory = () => parseServeProgress;
export const convertProgress: ProgressParserFactory = () => parseConvertProgress;
export const qnaEvalProgress: ProgressParserFactory = () => parseQnaEvalProgress;
