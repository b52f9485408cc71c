import { existsSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { Command } from '@commander-js/extra-typings'
import { NasError, parseObjective, parseObjectives } from '@nasjs/core'
import { ledgerFromJournal } from '@nasjs/strategies'
import { readJournalFile } from '@nasjs/strategies/node'
import type { Io } from '../context.js'
import { RUN_FILES, readJsonFile, searchMeta, type RunSummary } from '../run-files.js'
import { printSummary, truthScore, writeRunReport, type ReferenceFront } from '../search/report.js'
import { hardwareTarget } from '../search/hardware.js'
import { proxyTarget } from '../search/proxy.js'
import { supernetSpaceOf, supernetTarget } from '../search/supernet.js'
import { trainingTarget } from '../search/training.js'
import { tableTarget } from '../targets.js'

/** `nas report <dir>`: rebuilds summary.json, pareto.csv and report.html from the journal. */
export function reportCommand(io: Io) {
  return new Command('report')
    .description('rebuild summary.json, pareto.csv and report.html of a run from its journal')
    .argument('<dir>', 'run directory (as given to nas search --out)')
    .option('--data <dir>', 'benchmark data directory (default: NASJS_DATA_DIR, then ../shared/data)')
    .option(
      '--reference <dir>',
      "another run's front drawn beside this one's in the Pareto plot (same objectives), repeatable",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option('--json', 'print the summary as JSON')
    .action(async (dirArg, opts) => {
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
            : meta.supernet !== undefined
              ? supernetTarget(meta.supernet, await supernetSpaceOf(meta.supernet))
              : tableTarget(stored.header.space),
        meta.hardware,
      )
      const references = (opts.reference ?? []).map((r) => referenceFront(r, stored.header.objectives))
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
        references,
      })
      if (opts.json) io.out(JSON.stringify(summary))
      else printSummary(io, summary, target.showMetrics)
    })
}

/**
 * The front of the run in `dirArg` (its summary.json) for the Pareto plot of another run: the same
 * objectives, or one clear error naming both.
 */
function referenceFront(dirArg: string, objectives: readonly string[]): ReferenceFront {
  const dir = resolve(dirArg)
  const file = join(dir, RUN_FILES.summary)
  if (!existsSync(file)) {
    throw new NasError({
      code: 'IO',
      message: `--reference ${dirArg}: ${file} is missing (a finished run directory has one; nas report ${dirArg} rebuilds it)`,
      path: [file],
    })
  }
  const s = readJsonFile(file, 'run summary') as Partial<RunSummary>
  if (!Array.isArray(s.front) || !Array.isArray(s.objectives)) {
    throw new NasError({ code: 'DATA_CORRUPT', message: `${file} is not a run summary`, path: [file] })
  }
  const names = (list: readonly string[]) =>
    list
      .map((o) => {
        const p = parseObjective(o)
        return `${p.name}:${p.direction}`
      })
      .join(', ')
  if (names(s.objectives) !== names(objectives)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--reference ${dirArg} searched ${names(s.objectives)}; this run searched ${names(objectives)}: their fronts cannot share a plot`,
      value: s.objectives,
      allowed: [objectives],
    })
  }
  const front = s.front as RunSummary['front']
  if (
    !front.every((f) => typeof f?.arch === 'string' && typeof f.metrics === 'object' && f.metrics !== null)
  ) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `${file} has a front entry without arch or metrics`,
      path: [file],
    })
  }
  return { name: basename(dir), front: front.map((f) => ({ metrics: f.metrics, arch: f.arch })) }
}
