import { join, resolve } from 'node:path'
import { NasError, parseObjectives } from '@nasjs/core'
import type { CacheMode, ObjectiveList } from '@nasjs/core'
import { stableJson, type StrategyRegistry } from '@nasjs/strategies'
import { readJournalHeader } from '@nasjs/strategies/node'
import { RUN_FILES, checkRunDir, readJsonFile, searchMeta } from '../run-files.js'
import { assertRunsOnTable } from '../strategies.js'
import { checkTargetMetrics, tableTarget, type TableTarget } from '../targets.js'
import type { SearchRequest } from './parse.js'

/** Everything a search needs, checked, before anything is loaded or written. */
export interface SearchPlan {
  readonly dir: string
  readonly journal: string
  readonly resume: boolean
  readonly target: TableTarget
  readonly dataset: string
  readonly strategy: string
  readonly strategyConfig: unknown
  readonly objectives: ObjectiveList
  readonly constraints: readonly string[]
  /** The trial budget; on resume `undefined` keeps the run's own. */
  readonly budget: number | undefined
  readonly seed: number
  readonly concurrency: number
  readonly cache: CacheMode | 'auto'
  readonly data: string | undefined
  /** How the user named the run directory, for the resume hint. */
  readonly outArg: string
}

const timestamp = () => new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)

/** Plan: a new search from the request, or a resume from the run's journal header. Reads no data, writes nothing. */
export function planSearch(req: SearchRequest, registry: StrategyRegistry): SearchPlan {
  return req.resume ? planResume(req, registry) : planNew(req, registry)
}

function strategyConfig(req: SearchRequest, registry: StrategyRegistry): unknown {
  return registry.parseConfig(
    req.strategy,
    req.configFile === undefined ? undefined : readJsonFile(req.configFile, 'strategy config'),
  )
}

function planNew(req: SearchRequest, registry: StrategyRegistry): SearchPlan {
  const target = tableTarget(req.space)
  const dataset = req.dataset ?? target.defaultDataset
  const objectives =
    req.objectives === undefined ? target.defaultObjectives : (req.objectives as unknown as ObjectiveList)
  parseObjectives(objectives) // at least one, none twice
  checkTargetMetrics(target, dataset, objectives, req.constraints)
  registry.get(req.strategy)
  assertRunsOnTable([req.strategy])
  const config = strategyConfig(req, registry)
  const dir = resolve(req.out ?? join('runs', `${req.strategy}-${req.space}-${dataset}-${timestamp()}`))
  checkRunDir(dir, false)
  return {
    dir,
    journal: join(dir, RUN_FILES.journal),
    resume: false,
    target,
    dataset,
    strategy: req.strategy,
    strategyConfig: config,
    objectives,
    constraints: req.constraints,
    budget: req.budget,
    seed: req.seed,
    concurrency: req.concurrency,
    cache: req.cache,
    data: req.data,
    outArg: req.out ?? dir,
  }
}

function planResume(req: SearchRequest, registry: StrategyRegistry): SearchPlan {
  if (req.out === undefined) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: '--resume needs --out <run directory> of the run to continue',
    })
  }
  const dir = resolve(req.out)
  checkRunDir(dir, true)
  const journal = join(dir, RUN_FILES.journal)
  const header = readJournalHeader(journal)
  if (header === undefined) {
    throw new NasError({
      code: 'IO',
      message: `--resume: ${journal} is empty; nothing to resume`,
      path: [journal],
    })
  }
  const meta = searchMeta(header, journal)
  // a flag given on the command line must agree with the run being resumed; only --budget may change
  const same: [string, string, unknown, unknown][] = [
    ['space', '--space', req.space, header.space],
    ['dataset', '--dataset', req.dataset, meta.dataset],
    ['strategy', '--strategy', req.strategy, header.strategy.name],
    ['seed', '--seed', req.seed, header.seed],
    ['objective', '--objective', req.objectives, header.objectives],
    ['constraint', '--constraint', req.constraints, header.constraints],
    ['concurrency', '--concurrency', req.concurrency, header.concurrency],
    ['cache', '--cache', req.cache, req.cache === 'auto' ? req.cache : header.cache],
  ]
  for (const [name, flag, given, stored] of same) {
    if (req.given.has(name) && stableJson(given) !== stableJson(stored)) {
      const show = (v: unknown) => (Array.isArray(v) ? v.join(' ') || '(none)' : String(v))
      throw new NasError({
        code: name === 'space' ? 'SPACE_MISMATCH' : 'CONFIG_INVALID',
        message: `--resume: the run in ${dir} was made with ${flag} ${show(stored)}, not ${show(given)} (only --budget may change on resume)`,
        value: given,
        allowed: [stored],
      })
    }
  }
  if (req.configFile !== undefined) {
    const config = registry.parseConfig(header.strategy.name, readJsonFile(req.configFile, 'strategy config'))
    if (stableJson(config) !== stableJson(header.strategy.config)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `--resume: the run in ${dir} was made with strategy config ${stableJson(header.strategy.config)}, not ${stableJson(config)}`,
        value: config,
        allowed: [header.strategy.config],
      })
    }
  }
  const target = tableTarget(header.space)
  return {
    dir,
    journal,
    resume: true,
    target,
    dataset: meta.dataset,
    strategy: header.strategy.name,
    strategyConfig: header.strategy.config,
    objectives: header.objectives as unknown as ObjectiveList,
    constraints: header.constraints,
    budget: req.given.has('budget') ? req.budget : undefined,
    seed: header.seed,
    concurrency: header.concurrency,
    cache: header.cache,
    data: req.data,
    outArg: req.out,
  }
}
