import { Command } from '@commander-js/extra-typings'
import { resolve } from 'node:path'
import { loadBenchmark, type Io } from '../context.js'
import { readRun } from '../run-files.js'
import { printSummary, writeRunReport } from './search.js'

/** `nas report <dir>`: rebuilds summary.json, pareto.csv and report.html from the journal. */
export function reportCommand(io: Io) {
  return new Command('report')
    .description('rebuild summary.json, pareto.csv and report.html of a run from its journal')
    .argument('<dir>', 'run directory (as given to nas search --out)')
    .option('--data <dir>', 'benchmark data directory (default: NASJS_DATA_DIR, then ../shared/data)')
    .option('--json', 'print the summary as JSON')
    .action((dirArg, opts) => {
      const dir = resolve(dirArg)
      const { config, journal } = readRun(dir)
      const ended = journal.records.some((r) => r.type === 'end' && r.reason !== 'aborted')
      const bench = config.space === 'nb201' ? loadBenchmark(opts.data) : undefined
      const summary = writeRunReport(dir, bench, ended)
      if (opts.json) io.out(JSON.stringify(summary))
      else printSummary(io, summary)
    })
}
