import type { Command } from 'commander';
import { CliError } from '../cli-error.ts';
import { bashCompletion, zshCompletion } from '../completion.ts';

/** `backplane completion bash|zsh`. */
export function registerCompletionCommand(program: Command): void {
  program
    .command('completion <shell>')
    .description('print a shell completion script (bash or zsh)')
    .addHelpText('after', '\nExamples:\n  source <(backplane completion bash)      # in ~/.bashrc\n  source <(backplane completion zsh)       # in ~/.zshrc\n')
    .action((shell: string) => {
      if (shell === 'bash') process.stdout.write(bashCompletion(program));
      else if (shell === 'zsh') process.stdout.write(zshCompletion(program));
      else throw new CliError(`completion: unknown shell '${shell}' (bash or zsh)`, 2);
    });
}
