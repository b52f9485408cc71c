import { join, resolve } from 'node:path'
import { Command } from '@commander-js/extra-typings'
import { NasError, parseObjectives } from '@nasjs/core'
import { ledgerFromJournal } from '@nasjs/strategies'
import { readJournalFile } from '@nasjs/strategies/node'
import type { Io } from '../context.js'
import { RUN_FILES, searchMeta } from '../run-files.js'
import { printSummary, truthScore, writeRunReport } from '../search/report.js'
import { hardwareTarget } from '../search/hardware.js'
import { proxyTarget } from '../search/proxy.js'
import { trainingTarget } from '../search/training.js'
import { tableTarget } from '../targets.js'

/** `nas report <dir>`: rebuilds summary.json, pareto.csv and report.html from the journal. */
export function reportCommand(io: Io) {
  return new Command('report')
    .description('rebuild summary.json, pareto.csv and report.html of a run from its journal')
    .argument('<dir>', 'run directory (as given to nas search --out)')
    .option('--data <dir>', 'benchmark data directory (default: NASJS_DATA_DIR, then ../shared/data)')
    .option('--json', 'print the summary as JSON')
    .action((dirArg, opts) => {
      const dir = resolve(dirArg)
      const path = join(dir, RUN_FILES.journal)
      const stored = readJournalFile(path)
      if (stored === undefined) {
        throw new NasError({
          code: 'IO',
          message: `${path} is missing or empty: nothing to report`,
          path: [path],
        })
      }
      const meta = searchMeta(stored.header, path)
      // a proxy or training run has no table behind it: its own metrics, no true front
      const target = hardwareTarget(
        meta.proxy !== undefined
          ? proxyTarget(meta.proxy)
          : meta.training !== undefined
            ? trainingTarget(stored.header.space)
            : tableTarget(stored.header.space),
        meta.hardware,
      )
      const session = target.open(opts.data)
      const truth = session.truth(meta.dataset, parseObjectives(stored.header.objectives))
      const frontScore = truthScore(session, truth, target.space)
      const replay = ledgerFromJournal(
        target.space,
        stored,
        path,
        frontScore === undefined ? {} : { frontScore },
      )
      const summary = writeRunReport({
        dir,
        header: stored.header,
        dataset: meta.dataset,
        ledger: replay.ledger,
        session,
        truth,
        budget: replay.budget.trials ?? replay.ledger.trials.length,
        complete: replay.ended !== undefined && replay.ended !== 'aborted' && replay.ended !== 'error',
      })
      if (opts.json) io.out(JSON.stringify(summary))
      else printSummary(io, summary, target.showMetrics)
    })
}
