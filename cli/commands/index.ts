// The list of `alignc` sub-commands, in the order `alignc --help` shows them. A new command is one
// file under cli/commands/ plus one line here.

import type { Command } from '../command.js';
import { benchCommand } from './bench.js';
import { languageCommands } from './check.js';
import { dataCommand } from './data.js';
import { doctorCommand } from './doctor.js';
import { checkGradCommand } from './check-grad.js';
import { evalCommand } from './eval.js';
import { gradCommand } from './grad.js';
import { proposalsCommand } from './proposals.js';
import { reportCommand } from './report.js';
import { reproduceCommand } from './reproduce.js';
import { runCommand } from './run.js';
import { weightsCommand } from './weights.js';

export const commands: readonly Command[] = [
  ...languageCommands,
  dataCommand,
  doctorCommand,
  gradCommand,
  checkGradCommand,
  evalCommand,
  proposalsCommand,
  reportCommand,
  reproduceCommand,
  runCommand,
  weightsCommand,
  benchCommand,
];
