// What every command needs: where the config is, whether to only print (--dry-run), who the
// human is, and the runner that performs (and prints) system changes.
import { defaultConfigPath } from '../config/store.js';
import { type Human, currentHuman } from '../system/human.js';
import { type CommandRunner, ProcessRunner } from '../system/runner.js';

export interface GlobalOptions {
  config?: string;
  dryRun?: boolean;
}

export interface Context {
  configPath: string;
  dryRun: boolean;
  human: Human;
  runner: CommandRunner;
}

export function makeContext(options: GlobalOptions): Context {
  const dryRun = Boolean(options.dryRun);
  return {
    configPath: options.config ?? defaultConfigPath(),
    dryRun,
    human: currentHuman(),
    runner: new ProcessRunner(dryRun),
  };
}
