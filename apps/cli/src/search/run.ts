import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { Rng, parseConstraints, parseObjectives, type SearchEvent } from '@nasjs/core'
import { runSearch, type SearchResult, type StrategyRegistry } from '@nasjs/strategies'
import { fileStorage } from '@nasjs/strategies/node'
import { fmtMetric, type Io } from '../context.js'
import { EXIT } from '../errors.js'
import { createRenderer } from '../render/progress.js'
import { createRunDir, removeCreated, type SearchMeta } from '../run-files.js'
import { prepareStrategies } from '../strategies.js'
import { NB201_NETWORKS, type TableSession, type TableTruth } from '../targets.js'
import type { SearchPlan } from './plan.js'
import { addedMetrics, openHardware } from './hardware.js'
import type { ProxySession } from './proxy.js'
import type { SupernetSession } from './supernet.js'
import type { TrainingSession } from './training.js'
import { truthScore } from './report.js'

/** What a finished (or interrupted) search leaves for the report. */
export interface SearchOutcome {
  readonly result: SearchResult<unknown>
  readonly session: TableSession
  readonly truth: TableTruth | undefined
  readonly interrupted: boolean
}

/** Strategy snapshots in the journal every this many trials: a resume replays at most that many tells. */
export const SNAPSHOT_EVERY = 1000

/**
 * Run: loads the benchmark, creates the strategy, then (only then) the run directory, and runs the
 * search with the journal locked for the life of the process. Ctrl-C stops it cleanly. A start that
 * fails before the journal is written leaves no directory behind.
 */
export async function runPlannedSearch(
  plan: SearchPlan,
  registry: StrategyRegistry,
  io: Io,
  opts: { readonly json: boolean; readonly quiet: boolean },
): Promise<SearchOutcome> {
  const log = opts.json || opts.quiet ? undefined : (l: string) => io.err.write(l + '\n')
  const training =
    plan.training === undefined
      ? undefined
      : await (
          await import('./training.js')
        ).openTrainingSession(
          plan.training.checkpointDir === undefined
            ? plan.training
            : { ...plan.training, checkpointDir: resolve(plan.dir, plan.training.checkpointDir) },
          plan.concurrency,
        )
  if (training !== undefined) log?.(training.description)
  const proxy =
    plan.proxy === undefined ? undefined : await (await import('./proxy.js')).openProxySession(plan.proxy)
  if (proxy !== undefined) log?.(proxy.description)
  const supernet =
    plan.supernet === undefined
      ? undefined
      : await (await import('./supernet.js')).openSupernetSession(plan.supernet, plan.concurrency)
  if (supernet !== undefined) log?.(supernet.description)
  try {
    return await runWithSession(plan, registry, io, opts, training ?? proxy ?? supernet, log)
  } finally {
    await training?.close()
    await supernet?.close()
  }
}

async function runWithSession(
  plan: SearchPlan,
  registry: StrategyRegistry,
  io: Io,
  opts: { readonly json: boolean; readonly quiet: boolean },
  built: TrainingSession | ProxySession | SupernetSession | undefined,
  log: ((line: string) => void) | undefined,
): Promise<SearchOutcome> {
  const session = built ?? plan.target.open(plan.data)
  const training = built !== undefined && 'setup' in built ? built : undefined
  const objectives = parseObjectives(plan.objectives)
  const constraints = parseConstraints(plan.constraints)
  const metrics = [
    ...new Set([
      ...plan.target.recordMetrics,
      ...objectives.map((o) => o.name),
      ...constraints.map((c) => c.metric),
    ]),
  ]
  // hardware metrics and the reward are added on top of the evaluator, which never sees them
  const added = new Set(addedMetrics(plan.hardware))
  const own = (names: readonly string[]) => names.filter((n) => !added.has(n))
  // the reward's inputs that the evaluator measures (valid_acc, a table's latency) are asked of it
  const rewardInputs =
    plan.hardware?.mnas === undefined ? [] : [plan.hardware.mnas.accuracy, plan.hardware.mnas.latency]
  let evaluator = session.evaluator(
    plan.dataset,
    own([...new Set([...metrics, ...rewardInputs])]),
    own([...objectives.map((o) => o.name), ...constraints.map((c) => c.metric)]),
  )
  let cheapMetrics = session.cheapMetrics(plan.dataset, own(metrics))
  if (plan.hardware !== undefined) {
    const network =
      built !== undefined && 'network' in built
        ? built.network
        : plan.target.space.id === 'nb201'
          ? NB201_NETWORKS[plan.dataset]
          : undefined
    const build = built !== undefined && 'build' in built ? built.build : undefined
    const hw = await openHardware(plan.hardware, plan.target.space, network, evaluator, cheapMetrics, build)
    evaluator = hw.evaluator
    cheapMetrics = hw.cheapMetrics
    log?.(hw.description)
  }
  const truth = session.truth(plan.dataset, objectives)
  if (built === undefined) await prepareStrategies([plan.strategy], log)
  const strategy = registry.create(plan.strategy, plan.strategyConfig, {
    space: plan.target.space,
    rng: new Rng(plan.seed),
    objectives,
    constraints,
    // Free statistics (log params, log FLOPs, zero-cost scores, live and executed op counts) for
    // strategies configured with `extraFeatures` (bananas, gpbo, linas); the others ignore them.
    features: session.features(plan.dataset),
  })
  const made = plan.resume ? [] : createRunDir(plan.dir)

  const controller = new AbortController()
  let interrupted = false
  const onSigint = () => {
    if (interrupted) process.exit(EXIT.interrupted)
    interrupted = true
    controller.abort()
  }
  process.on('SIGINT', onSigint)
  process.on('SIGTERM', onSigint)
  const first = objectives[0]
  const renderer = createRenderer({
    json: opts.json,
    quiet: opts.quiet,
    ...(training === undefined ? {} : { epochs: (training.setup.train as { epochs: number }).epochs }),
    describeBest: (e: Extract<SearchEvent, { type: 'progress' }>) =>
      e.frontSize !== undefined && objectives.length > 1
        ? `front ${e.frontSize}`
        : e.best?.[first.name] !== undefined
          ? `best ${first.name} ${fmtMetric(e.best[first.name])}`
          : '',
  })
  const meta: SearchMeta = {
    command: 'search',
    dataset: plan.dataset,
    ...(training === undefined ? {} : { training: training.setup }),
    ...(plan.proxy === undefined ? {} : { proxy: plan.proxy }),
    ...(plan.supernet === undefined ? {} : { supernet: plan.supernet }),
    ...(plan.hardware === undefined ? {} : { hardware: plan.hardware }),
  }
  const frontScore = truthScore(session, truth, plan.target.space)
  try {
    const result = await runSearch<unknown>({
      space: plan.target.space,
      strategy,
      evaluator,
      objectives: plan.objectives,
      constraints: plan.constraints,
      ...(plan.budget === undefined ? {} : { budget: { trials: plan.budget } }),
      concurrency: plan.concurrency,
      cache: plan.cache,
      storage: fileStorage(plan.journal),
      resume: plan.resume,
      snapshotEvery: SNAPSHOT_EVERY,
      meta: { ...meta },
      signal: controller.signal,
      onEvent: renderer.onEvent,
      seed: plan.seed,
      name: plan.strategy,
      ...(cheapMetrics === undefined ? {} : { cheapMetrics }),
      ...(frontScore === undefined ? {} : { frontScore }),
    })
    return { result, session, truth, interrupted: result.reason === 'aborted' }
  } catch (e) {
    if (!existsSync(plan.journal)) removeCreated(made)
    throw e
  } finally {
    renderer.stop()
    process.off('SIGINT', onSigint)
    process.off('SIGTERM', onSigint)
  }
}
