import { join, resolve } from 'node:path'
import { NasError, parseObjectives } from '@nasjs/core'
import type { CacheMode, ObjectiveList } from '@nasjs/core'
import { stableJson, type StrategyRegistry } from '@nasjs/strategies'
import { readJournalHeader } from '@nasjs/strategies/node'
import { RUN_FILES, checkRunDir, readJsonFile, searchMeta } from '../run-files.js'
import { assertRunsOnTable } from '../strategies.js'
import { checkTargetMetrics, tableTarget, type TableTarget } from '../targets.js'
import type { TrainingSetup } from '@nasjs/models/node'
import { QUANT_SPACE_SUFFIX, SETUP_FLAGS, type Evaluator, type SearchRequest } from './parse.js'
import { hardwareTarget, planHardware, type HardwareSetup } from './hardware.js'
import { proxyDataLabel, proxyObjectives, proxySetup, proxyTarget, type ProxySetup } from './proxy.js'
import {
  supernetObjectives,
  supernetSetup,
  supernetSpaceOf,
  supernetTarget,
  type SupernetSetup,
} from './supernet.js'
import { dataLabel, dataSpec, trainingSetup, trainingTarget } from './training.js'

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
  /** With `--evaluator train`: what to train every architecture on, and how. */
  readonly training?: TrainingSetup
  /** With `--evaluator proxy`: the proxies every architecture is scored with, and on what. */
  readonly proxy?: ProxySetup
  /** With `--evaluator supernet`: the trained supernet whose subnets are searched, and the data. */
  readonly supernet?: SupernetSetup
  /** Hardware metrics and the MnasNet reward, when the objectives or constraints ask for them. */
  readonly hardware?: HardwareSetup
}

/** A run directory's name for the data: a file's or folder's base name, without `.csv`. */
const dataName = (dataset: string) => dataset.replace(/^.*[\\/]/, '').replace(/\.csv(\.gz)?$/i, '')

const timestamp = () => new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)

/**
 * Plan: a new search from the request, or a resume from the run's journal header. Reads no data,
 * writes nothing; a proxy search loads `@nasjs/proxies` to check the proxies' names.
 */
export async function planSearch(req: SearchRequest, registry: StrategyRegistry): Promise<SearchPlan> {
  if (req.resume) return planResume(req, registry)
  if (req.evaluator === 'proxy') return planNewProxy(req, registry)
  if (req.evaluator === 'supernet') return planNewSupernet(req, registry)
  return planNew(req, registry)
}

function strategyConfig(req: SearchRequest, registry: StrategyRegistry): unknown {
  return registry.parseConfig(
    req.strategy,
    req.configFile === undefined ? undefined : readJsonFile(req.configFile, 'strategy config'),
  )
}

function planNew(req: SearchRequest, registry: StrategyRegistry): SearchPlan {
  if (req.evaluator === 'train') return planNewTraining(req, registry)
  const table = tableTarget(req.space)
  const dataset = req.dataset ?? table.defaultDataset
  const objectives =
    req.objectives === undefined ? table.defaultObjectives : (req.objectives as unknown as ObjectiveList)
  parseObjectives(objectives) // at least one, none twice
  const hardware = planHardware(req.space, objectives, req.constraints, req.hardware)
  const target = hardwareTarget(table, hardware)
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
    ...(hardware === undefined ? {} : { hardware }),
  }
}

function planNewTraining(req: SearchRequest, registry: StrategyRegistry): SearchPlan {
  const trained = trainingTarget(req.space)
  const def = registry.get(req.strategy)
  // multi-fidelity strategies continue promoted trials from training states kept in the run
  // directory (a path relative to it, so a moved run resumes)
  const training = {
    ...trainingSetup(req.space, req.data, req.seed, req.training),
    ...(def.requiresFidelity === true ? { checkpointDir: 'checkpoints' } : {}),
  }
  const dataset = dataLabel(training.data)
  // accuracy against size for multi-objective strategies, accuracy alone for the others
  const objectives =
    req.objectives !== undefined
      ? (req.objectives as unknown as ObjectiveList)
      : def.multiObjective === true
        ? trained.defaultObjectives
        : (['valid_acc:max'] as unknown as ObjectiveList)
  parseObjectives(objectives)
  const hardware = planHardware(req.space, objectives, req.constraints, req.hardware)
  const target = hardwareTarget(trained, hardware)
  checkTargetMetrics(target, '', objectives, req.constraints)
  // multi-fidelity strategies (sh, hyperband) train at most --epochs unless their config says otherwise
  const fileConfig =
    req.configFile === undefined ? {} : (readJsonFile(req.configFile, 'strategy config') as object)
  const config =
    def.requiresFidelity === true && !Object.hasOwn(fileConfig ?? {}, 'maxFidelity')
      ? registry.parseConfig(req.strategy, {
          ...fileConfig,
          maxFidelity: (training.train as { epochs: number }).epochs,
        })
      : strategyConfig(req, registry)
  const name = dataName(dataset)
  const dir = resolve(req.out ?? join('runs', `${req.strategy}-${req.space}-${name}-train-${timestamp()}`))
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
    data: undefined,
    outArg: req.out ?? dir,
    training,
    ...(hardware === undefined ? {} : { hardware }),
  }
}

async function planNewProxy(req: SearchRequest, registry: StrategyRegistry): Promise<SearchPlan> {
  const def = registry.get(req.strategy)
  if (def.requiresFidelity === true) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `${req.strategy} allocates training epochs (fidelities); a proxy score has none. Use a strategy without fidelities, or --evaluator train`,
      value: req.strategy,
      allowed: registry.names().filter((n) => registry.get(n).requiresFidelity !== true),
    })
  }
  const proxy = await proxySetup(req.space, req.data, req.seed, { ...req.training, ...req.proxy })
  const dataset = proxyDataLabel(proxy)
  const objectives =
    req.objectives !== undefined
      ? (req.objectives as unknown as ObjectiveList)
      : proxyObjectives(proxy, def.multiObjective === true)
  parseObjectives(objectives)
  const hardware = planHardware(req.space, objectives, req.constraints, req.hardware)
  const target = hardwareTarget(proxyTarget(proxy), hardware)
  checkTargetMetrics(target, '', objectives, req.constraints)
  const config = strategyConfig(req, registry)
  const name = dataName(dataset)
  const dir = resolve(req.out ?? join('runs', `${req.strategy}-${req.space}-${name}-proxy-${timestamp()}`))
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
    data: undefined,
    outArg: req.out ?? dir,
    proxy,
    ...(hardware === undefined ? {} : { hardware }),
  }
}

async function planNewSupernet(req: SearchRequest, registry: StrategyRegistry): Promise<SearchPlan> {
  const def = registry.get(req.strategy)
  if (def.requiresFidelity === true) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `${req.strategy} allocates training epochs (fidelities); a supernet's subnets are evaluated with its trained weights, without training. Use a strategy without fidelities`,
      value: req.strategy,
      allowed: registry.names().filter((n) => registry.get(n).requiresFidelity !== true),
    })
  }
  const { setup, space } = await supernetSetup(req.data, req.seed, req.supernet, req.training)
  // --space may name the supernet's space (or its family, ofa-mbv3), with *quant-policy for policies
  const base = req.space.endsWith(QUANT_SPACE_SUFFIX)
    ? req.space.slice(0, -QUANT_SPACE_SUFFIX.length)
    : req.space
  const own = setup.space.endsWith(QUANT_SPACE_SUFFIX)
    ? setup.space.slice(0, -QUANT_SPACE_SUFFIX.length)
    : setup.space
  if (
    req.given.has('space') &&
    req.space !== setup.space &&
    !(req.space.endsWith(QUANT_SPACE_SUFFIX) && base === own.split('@')[0])
  ) {
    throw new NasError({
      code: 'SPACE_MISMATCH',
      message: `--space ${req.space}: the supernet in ${setup.dir} has the space ${own}; search it with --space ${own.split('@')[0]}${QUANT_SPACE_SUFFIX} (or --quant) for quantization policies too, or leave --space out`,
      value: req.space,
      allowed: [own, `${own.split('@')[0]}${QUANT_SPACE_SUFFIX}`],
    })
  }
  const dataset = dataLabel(setup.data)
  const objectives =
    req.objectives !== undefined
      ? (req.objectives as unknown as ObjectiveList)
      : supernetObjectives(def.multiObjective === true, setup.quant !== undefined)
  parseObjectives(objectives)
  const hardware = planHardware(setup.space, objectives, req.constraints, req.hardware)
  const target = hardwareTarget(supernetTarget(setup, space), hardware)
  checkTargetMetrics(target, '', objectives, req.constraints)
  const config = strategyConfig(req, registry)
  const name = dataName(dataset)
  const dir = resolve(req.out ?? join('runs', `${req.strategy}-supernet-${name}-${timestamp()}`))
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
    data: undefined,
    outArg: req.out ?? dir,
    supernet: setup,
    ...(hardware === undefined ? {} : { hardware }),
  }
}

async function planResume(req: SearchRequest, registry: StrategyRegistry): Promise<SearchPlan> {
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
  const training = meta.training
  const proxy = meta.proxy
  const supernet = meta.supernet
  const made: Evaluator =
    training !== undefined
      ? 'train'
      : proxy !== undefined
        ? 'proxy'
        : supernet !== undefined
          ? 'supernet'
          : 'table'
  if (req.given.has('evaluator') && req.evaluator !== made) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--resume: the run in ${dir} was made with --evaluator ${made}, not ${req.evaluator}`,
      value: req.evaluator,
      allowed: [made],
    })
  }
  const stray = SETUP_FLAGS.filter((k) => req.given.has(k))
  if (stray.length > 0) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--resume keeps the run's ${['lut', 'helpPredictor', 'helpDevice', 'mnas'].includes(stray[0]!) ? 'hardware' : made === 'table' ? 'training' : made} setup; drop --${stray[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} (only --budget may change on resume)`,
      value: stray,
    })
  }
  // a flag given on the command line must agree with the run being resumed; only --budget may change
  const same: [string, string, unknown, unknown][] = [
    ['space', '--space', sameSpaceAlias(req.space, header.space), header.space],
    ['dataset', '--dataset', req.dataset, meta.dataset],
    ...(made === 'table'
      ? []
      : ([
          [
            'data',
            '--data',
            req.data === undefined || req.data === 'random' ? req.data : dataLabel(dataSpec(req.data)),
            meta.dataset,
          ],
        ] as [string, string, unknown, unknown][])),
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
  const target = hardwareTarget(
    training !== undefined
      ? trainingTarget(header.space)
      : proxy !== undefined
        ? proxyTarget(proxy)
        : supernet !== undefined
          ? supernetTarget(supernet, await supernetSpaceOf(supernet))
          : tableTarget(header.space),
    meta.hardware,
  )
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
    data: made === 'table' ? req.data : undefined,
    outArg: req.out,
    ...(training === undefined ? {} : { training }),
    ...(proxy === undefined ? {} : { proxy }),
    ...(supernet === undefined ? {} : { supernet }),
    ...(meta.hardware === undefined ? {} : { hardware: meta.hardware }),
  }
}

/**
 * `--space ofa-mbv3*quant-policy` names a supernet's quantization-policy space by its family: on
 * resume it stands for the recorded space of that family (`ofa-mbv3@...*quant-policy`).
 */
function sameSpaceAlias(given: string, recorded: string): string {
  if (!given.endsWith(QUANT_SPACE_SUFFIX) || !recorded.endsWith(QUANT_SPACE_SUFFIX)) return given
  const family = (s: string) => s.slice(0, -QUANT_SPACE_SUFFIX.length).split('@')[0]
  return family(given) === family(recorded) ? recorded : given
}
