import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseObjective, type Metrics } from '@nasjs/core'
import type { JournalHeader, TrialLedger } from '@nasjs/strategies'
import { fmtMetric, table, type Io } from '../context.js'
import { searchReportHtml } from '../report/html.js'
import { RUN_FILES, buildSummary, frontCsv, writeJsonAtomic, type RunSummary } from '../run-files.js'
import type { TableSession, TableTruth } from '../targets.js'

/** What a run's report is made from: the ledger (from the search just run, or replayed from the journal). */
export interface RunReportInput {
  readonly dir: string
  readonly header: JournalHeader
  readonly dataset: string
  readonly ledger: TrialLedger<unknown>
  readonly session: TableSession
  readonly truth: TableTruth | undefined
  readonly budget: number
  readonly complete: boolean
  /** Other runs' fronts to draw beside this one's (`nas report --reference`). */
  readonly references?: readonly ReferenceFront[]
}

/** Another run's front, drawn in the Pareto plot of a report. */
export interface ReferenceFront {
  readonly name: string
  readonly front: readonly { readonly metrics: Readonly<Record<string, number>>; readonly arch: string }[]
}

/** Report: writes summary.json, pareto.csv and report.html of a run (also `nas report`). */
export function writeRunReport(input: RunReportInput): RunSummary {
  const summary = buildSummary(input)
  writeJsonAtomic(join(input.dir, RUN_FILES.summary), summary)
  writeFileSync(join(input.dir, RUN_FILES.pareto), frontCsv(summary))
  const points = input.ledger.trials.flatMap((t) =>
    t.outcome?.status === 'complete' && !t.cached ? [{ metrics: t.outcome.metrics }] : [],
  )
  const trueFront = input.truth?.points()
  writeFileSync(
    join(input.dir, RUN_FILES.report),
    searchReportHtml(summary, points, {
      ...(trueFront ? { trueFront } : {}),
      ...(input.references === undefined ? {} : { references: input.references }),
    }),
  )
  return summary
}

/** A frontScore for the ledger: relative hypervolume of the front against the benchmark's true front. */
export function truthScore(
  session: TableSession,
  truth: TableTruth | undefined,
  ledgerSpace: { format(a: unknown): string },
) {
  if (truth === undefined) return undefined
  return (front: readonly { arch: unknown; outcome?: unknown }[]) =>
    truth.quality(
      front.map((t) => ({
        key: session.indexOf(ledgerSpace.format(t.arch)) ?? -1,
        metrics: (t.outcome as { metrics: Metrics }).metrics,
      })),
    ).relativeHypervolume
}

/** Human-readable result: the best architecture or the Pareto front, and where the files are. */
export function printSummary(io: Io, s: RunSummary, showMetrics: readonly string[]): void {
  const objNames = s.objectives.map((o) => parseObjective(o).name)
  const extra = showMetrics.filter((m) => !objNames.includes(m))
  const cols = [...objNames, ...extra]
  if (s.objectives.length > 1) {
    io.out(`\nPareto front: ${s.front.length} architectures`)
    if (s.quality) {
      io.out(
        `relative hypervolume ${s.quality.relativeHypervolume.toFixed(4)} · true-front coverage ${(s.quality.coverage * 100).toFixed(1)}% (${Math.round(s.quality.coverage * s.quality.trueFrontSize)}/${s.quality.trueFrontSize})`,
      )
    }
    const shown = s.front.length > 25 ? s.front.slice(0, 25) : s.front
    io.out(
      table(
        shown.map((f) => [String(f.trial), ...cols.map((c) => fmtMetric(f.metrics[c])), f.arch]),
        ['trial', ...cols, 'architecture'],
      ),
    )
    if (shown.length < s.front.length) io.out(`(${s.front.length - shown.length} more in ${s.files.pareto})`)
  } else if (s.best) {
    io.out(`\nbest architecture (trial ${s.best.trial}):\n  ${s.best.arch}`)
    const names = [...new Set([...cols, ...Object.keys(s.best.metrics)])].filter(
      (n) => s.best!.metrics[n] !== undefined,
    )
    io.out(table(names.slice(0, 12).map((n) => [`  ${n}`, fmtMetric(s.best!.metrics[n])])))
  } else {
    io.out('\nno feasible architecture found')
  }
  io.out(`\nreport:  ${s.files.report}\ntrials:  ${s.files.journal}\nsummary: ${s.files.summary}`)
}
