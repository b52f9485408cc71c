import { createRequire } from 'node:module'
import { Command } from '@commander-js/extra-typings'
import { archCommand } from './commands/arch.js'
import { compareCommand } from './commands/compare.js'
import { proxiesCommand } from './commands/proxies.js'
import { hardwareCommand } from './commands/hardware.js'
import { oneshotCommand } from './commands/oneshot.js'
import { quantizeCommand } from './commands/quantize.js'
import { reportCommand } from './commands/report.js'
import { strategiesCommand } from './commands/strategies.js'
import { runSearchCommand, searchCommand } from './commands/search.js'
import { supernetCommand } from './commands/supernet.js'
import { spacesCommand } from './commands/spaces.js'
import { trainCommand } from './commands/train.js'
import type { Io } from './context.js'

/** The package's version, read from its package.json (one version number everywhere). */
export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version

/** Builds the `nas` program. Commands write through `io`, so tests can capture them. */
export function buildProgram(io: Io): Command {
  const program = new Command('nas')
    .description('nasjs: neural architecture search from the terminal')
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(nas --help for usage)')
    .configureOutput({ writeErr: (s) => io.err.write(s), writeOut: (s) => io.out(s.replace(/\n$/, '')) })
    .exitOverride()
  program.addCommand(searchCommand(io))
  program.addCommand(trainCommand(io))
  program.addCommand(compareCommand(io))
  program.addCommand(proxiesCommand(io))
  program.addCommand(hardwareCommand(io))
  program.addCommand(supernetCommand(io, runSearchCommand(io)))
  program.addCommand(oneshotCommand(io))
  program.addCommand(quantizeCommand(io))
  program.addCommand(spacesCommand(io))
  program.addCommand(strategiesCommand(io))
  program.addCommand(archCommand(io))
  program.addCommand(reportCommand(io))
  for (const c of program.commands) {
    c.exitOverride()
    c.configureOutput({ writeErr: (s) => io.err.write(s), writeOut: (s) => io.out(s.replace(/\n$/, '')) })
    for (const sub of c.commands) sub.exitOverride()
  }
  return program
}
