import { formatDuration } from './output.ts';

/** The live line under a followed job's log: a progress bar, or a spinner with elapsed time. */
export interface ProgressDisplay {
  update(job: { status: string; progress: number | null; progressMessage: string | null }): void;
  /** Reads a log line for what the bar shows besides the job's progress (the epoch). */
  observe(line: string): void;
  /** Prints a log line above the bar or spinner. */
  log(line: string): void;
  /** A transient note (reconnecting…). */
  note(text: string): void;
  stop(): void;
}

/**
 * Draws on stderr (a TTY): cli-progress's bar with percentage, the job's progress message (the
 * epoch, for training) and ETA once the job reports progress, else ora's spinner with the elapsed
 * time. Both libraries are loaded here, only when a live display is drawn.
 */
export async function createProgressDisplay(id: string, hasProgress: boolean): Promise<ProgressDisplay> {
  const started = Date.now();
  let bar: import('cli-progress').MultiBar | undefined;
  let barItem: import('cli-progress').SingleBar | undefined;
  let spinner: import('ora').Ora | undefined;
  let message = '';
  let status = '';
  // Training logs name the epoch (`Epoch 2: 100%|…`, `epoch 3/10`); the bar shows the latest.
  let epoch = '';
  const cliProgress = await import('cli-progress');
  const startBar = () => {
    spinner?.stop();
    spinner = undefined;
    bar = new cliProgress.MultiBar(
      {
        format: `${id} {bar} {percentage}% | {epoch}{message} | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        etaBuffer: 20,
        stream: process.stderr,
        forceRedraw: true,
      },
      cliProgress.Presets.shades_classic,
    );
    barItem = bar.create(100, 0, { message, epoch });
  };
  const { default: ora } = await import('ora');
  const spinnerText = () => `${id} ${status}${message ? `: ${message}` : ''} (${formatDuration((Date.now() - started) / 1000)})`;
  if (hasProgress) startBar();
  else spinner = ora({ text: spinnerText(), stream: process.stderr, discardStdin: false }).start();
  const tick = setInterval(() => {
    if (spinner) spinner.text = spinnerText();
  }, 1000);
  return {
    update(job) {
      status = job.status;
      message = job.progressMessage ?? '';
      if (job.progress !== null && !bar) startBar();
      const percent = job.status === 'succeeded' ? 100 : Math.round((job.progress ?? 0) * 100);
      if (barItem) barItem.update(percent, { message: message || status, epoch });
      if (spinner) spinner.text = spinnerText();
    },
    observe(line) {
      const seen = /\bepoch[\s:]+(\d+)(?:\s*\/\s*(\d+))?/i.exec(line);
      if (seen) {
        epoch = `epoch ${seen[1]}${seen[2] ? `/${seen[2]}` : ''}, `;
        barItem?.update({ epoch });
      }
    },
    log(line) {
      if (bar) bar.log(`${line}\n`);
      else if (spinner) {
        spinner.clear();
        process.stderr.write(`${line}\n`);
        spinner.render();
      } else process.stderr.write(`${line}\n`);
    },
    note(text) {
      message = text;
      if (spinner) spinner.text = spinnerText();
      if (barItem) barItem.update({ message: text });
    },
    stop() {
      clearInterval(tick);
      spinner?.stop();
      spinner = undefined;
      bar?.stop();
      bar = undefined;
    },
  };
}
