import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseObjectives, type ObjectiveList } from '@nasjs/core'
import { formatNb201, type Nb201Arch } from '@nasjs/search-space'
import { runSearch, type Strategy } from '@nasjs/strategies'
import { fileStorage, readJournalHeader } from '@nasjs/strategies/node'
import { RUN_FILES, type RunSummary } from '../run-files.js'
import { tableTarget } from '../targets.js'
import { truthScore, writeRunReport } from './report.js'

/**
 * The cells a one-shot search derived, one per epoch, proposed in order: the "strategy" of the run
 * `nas oneshot` writes beside its checkpoint so that its cells go through the reporting of every
 * other search.
 */
function epochCells(cells: readonly Nb201Arch[]): Strategy<Nb201Arch> {
  let next = 0
  return {
    name: 'oneshot-epochs',
    config: { cells: cells.map(formatNb201) },
    ask(n = 1) {
      const out: { id: number; arch: Nb201Arch }[] = []
      while (out.length < n && next < cells.length) {
        out.push({ id: next, arch: cells[next]! })
        next++
      }
      return out
    },
    tell() {},
    recommend: () => cells.at(-1),
    exhausted: () => next >= cells.length,
    snapshot: () => ({ next }),
    restore(state) {
      next = (state as { next: number }).next
    },
  }
}

/**
 * Writes `dir` as a `nas search` run directory (`trials.jsonl`, `summary.json`, `pareto.csv`,
 * `report.html`) whose trial k is the cell a one-shot search derived at the end of epoch k + 1,
 * evaluated on the NB201 table (`dataset`, objective valid_acc:max), so that `nas report dir` and
 * the tools that read runs take it as any other. Rebuilt from scratch each time.
 */
export async function writeEpochRun(
  dir: string,
  cells: readonly Nb201Arch[],
  options: {
    readonly seed: number
    readonly method: string
    readonly dataset?: string
    readonly dataDir?: string
  },
): Promise<RunSummary> {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const dataset = options.dataset ?? 'cifar10'
  const target = tableTarget('nb201')
  const session = target.open(options.dataDir)
  const objectives: ObjectiveList = ['valid_acc:max']
  const evaluator = session.evaluator(
    dataset,
    [...new Set(['valid_acc', ...target.recordMetrics])],
    ['valid_acc'],
  )
  const truth = session.truth(dataset, parseObjectives(objectives))
  const journal = join(dir, RUN_FILES.journal)
  const frontScore = truthScore(session, truth, target.space)
  const result = await runSearch<unknown>({
    space: target.space,
    strategy: epochCells(cells),
    evaluator,
    objectives,
    budget: { trials: cells.length },
    // every epoch is a trial of its own, the same cell again included
    cache: 'off',
    storage: fileStorage(journal),
    seed: options.seed,
    meta: { command: 'search', dataset, oneshot: { method: options.method } },
    ...(frontScore === undefined ? {} : { frontScore }),
  })
  return writeRunReport({
    dir,
    header: readJournalHeader(journal)!,
    dataset,
    ledger: result.study.ledger,
    session,
    truth,
    budget: cells.length,
    complete: true,
  })
}
