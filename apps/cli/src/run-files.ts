import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import {
  NasError,
  constraintViolation,
  parseConstraint,
  parseObjective,
  paretoFrontOfMetrics,
  type Metrics,
  type Objective,
  type TrialOutcome,
} from '@nasjs/core'
import { frontQuality, trueParetoFront, type Nb201Benchmark, type TrueParetoFront } from '@nasjs/benchmarks'
import type { SearchSpace } from '@nasjs/search-space'
import { readJournal, type JournalContents } from '@nasjs/strategies'
import { z } from 'zod'

/** The files of a run directory. */
export const RUN_FILES = {
  config: 'run.json',
  journal: 'trials.jsonl',
  summary: 'summary.json',
  pareto: 'pareto.csv',
  report: 'report.html',
} as const

/** What `nas search` was asked to do; written once into `run.json`, checked on `--resume`. */
export const RunConfig = z
  .object({
    v: z.literal(1),
    command: z.literal('search'),
    space: z.string(),
    dataset: z.string(),
    strategy: z.string(),
    strategyConfig: z.unknown(),
    objectives: z.array(z.string()).min(1),
    constraints: z.array(z.string()),
    budget: z.number().int().min(1),
    seed: z.number().int(),
    concurrency: z.number().int().min(1),
    cache: z.enum(['functional', 'exact', 'off']),
    created: z.string(),
  })
  .strict()
export type RunConfig = z.infer<typeof RunConfig>

/** One told trial as the reports show it. */
export interface TrialRow {
  readonly trial: number
  readonly arch: string
  readonly hash: string
  readonly status: TrialOutcome['status']
  readonly metrics?: Metrics
  readonly reason?: string
  readonly cached: boolean
  readonly skipped: boolean
}

/** A trial on the front or the incumbent. */
export interface FoundArch {
  readonly trial: number
  readonly arch: string
  readonly index?: number
  readonly metrics: Metrics
}

/** `summary.json`; its last line form is what `nas search --json` prints. */
export interface RunSummary {
  readonly ok: true
  readonly run: string
  readonly space: string
  readonly dataset: string
  readonly strategy: string
  readonly objectives: readonly string[]
  readonly constraints: readonly string[]
  readonly seed: number
  readonly budget: number
  readonly trials: number
  readonly evaluations: number
  readonly cacheHits: number
  readonly failed: number
  readonly pruned: number
  readonly skipped: number
  readonly complete: boolean
  /** Best feasible trial by the first objective. */
  readonly best?: FoundArch
  /** Pareto front (constrained domination) of the complete trials, by the first objective. */
  readonly front: readonly FoundArch[]
  /** Against the benchmark's true front (several objectives on a tabular benchmark). */
  readonly quality?: {
    readonly relativeHypervolume: number
    readonly coverage: number
    readonly trueFrontSize: number
  }
  /** Best-so-far of the first objective (one objective) or relative hypervolume (several), per trial. */
  readonly anytime: readonly (readonly [number, number])[]
  readonly files: Readonly<Record<keyof typeof RUN_FILES, string>>
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp`
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n')
  renameSync(tmp, path)
}

export function readRunConfig(dir: string): RunConfig {
  const path = join(dir, RUN_FILES.config)
  if (!existsSync(path)) {
    throw new NasError({
      code: 'IO',
      message: `${dir} is not a nas run directory: ${RUN_FILES.config} is missing`,
      value: dir,
      path: [path],
    })
  }
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new NasError({ code: 'DATA_CORRUPT', message: `${path} is not valid JSON`, path: [path], cause })
  }
  const r = RunConfig.safeParse(json)
  if (!r.success) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `${path} is not a run config: ${r.error.issues[0]?.path.join('.') ?? ''} ${r.error.issues[0]?.message ?? ''}`,
      path: [path],
    })
  }
  return r.data
}

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true })
}

/** The told trials of a journal, in tell order. */
export function trialsFromJournal(contents: JournalContents, space: SearchSpace<unknown>): TrialRow[] {
  const asks = new Map<number, { arch: unknown; hash: string }>()
  const rows: TrialRow[] = []
  for (const r of contents.records) {
    if (r.type === 'ask') asks.set(r.trial, { arch: r.arch, hash: r.hash })
    else if (r.type === 'tell') {
      const a = asks.get(r.trial)
      if (!a) continue
      const arch = space.format(space.fromJSON(a.arch))
      const o = r.outcome
      rows.push({
        trial: r.trial,
        arch,
        hash: a.hash,
        status: o.status,
        ...(o.status === 'complete' ? { metrics: o.metrics } : {}),
        ...(o.status === 'pruned' && o.metrics ? { metrics: o.metrics } : {}),
        ...(o.status === 'failed' ? { reason: o.reason } : {}),
        cached: r.cached,
        skipped: r.skipped === true,
      })
    }
  }
  return rows
}

const feasible = (constraints: readonly string[], m: Metrics): boolean =>
  constraints.every((c) => {
    const k = parseConstraint(c)
    const v = m[k.metric]
    return v !== undefined && constraintViolation(k, v) === 0
  })

const better = (o: Objective, a: number, b: number) => (o.direction === 'max' ? a > b : a < b)

/**
 * Builds the run summary from its config and told trials. With a benchmark and several objectives,
 * the found front is scored against the benchmark's true front (relative hypervolume, coverage).
 */
export function buildSummary(
  dir: string,
  config: RunConfig,
  rows: readonly TrialRow[],
  opts: {
    readonly bench?: Nb201Benchmark
    readonly indexOf?: (arch: string) => number
    readonly complete: boolean
  },
): RunSummary {
  const objectives = config.objectives.map(parseObjective)
  const first = objectives[0]!
  const done = rows.filter((r) => r.status === 'complete' && r.metrics !== undefined && !r.skipped)
  const feasibleDone = done.filter((r) => feasible(config.constraints, r.metrics!))
  const found = (r: TrialRow): FoundArch => {
    const index = opts.indexOf?.(r.arch)
    return { trial: r.trial, arch: r.arch, ...(index !== undefined ? { index } : {}), metrics: r.metrics! }
  }
  let best: TrialRow | undefined
  for (const r of feasibleDone) {
    const v = r.metrics![first.name]
    if (v !== undefined && (best === undefined || better(first, v, best.metrics![first.name]!))) best = r
  }
  const constraints = config.constraints.map(parseConstraint)
  const frontIdx =
    done.length === 0
      ? []
      : paretoFrontOfMetrics(
          done.map((r) => r.metrics!),
          objectives,
          constraints.length > 0 ? { constraints } : {},
        )
  const front = frontIdx
    .map((i) => done[i]!)
    .filter((r) => feasible(config.constraints, r.metrics!))
    .sort((a, b) => (better(first, a.metrics![first.name]!, b.metrics![first.name]!) ? -1 : 1))
    .map(found)

  let truth: TrueParetoFront | undefined
  if (opts.bench && objectives.length > 1 && opts.indexOf) {
    truth = trueParetoFront(opts.bench, config.dataset, objectives, { missing: 'skip' })
  }
  const anytime: [number, number][] = []
  if (truth && opts.indexOf) {
    const step = Math.max(1, Math.floor(rows.length / 200))
    const seen: { key: number; metrics: Metrics }[] = []
    rows.forEach((r, i) => {
      if (r.status === 'complete' && r.metrics && !r.skipped && feasible(config.constraints, r.metrics)) {
        seen.push({ key: opts.indexOf!(r.arch), metrics: r.metrics })
      }
      if ((i + 1) % step === 0 || i === rows.length - 1) {
        anytime.push([i + 1, seen.length ? frontQuality(seen, truth).relativeHypervolume : 0])
      }
    })
  } else {
    let cur: number | undefined
    rows.forEach((r, i) => {
      const v = r.metrics?.[first.name]
      if (
        r.status === 'complete' &&
        v !== undefined &&
        !r.skipped &&
        feasible(config.constraints, r.metrics!)
      ) {
        if (cur === undefined || better(first, v, cur)) cur = v
      }
      if (cur !== undefined) anytime.push([i + 1, cur])
    })
  }
  const quality =
    truth && opts.indexOf
      ? {
          ...frontQuality(
            front.map((f) => ({ key: f.index ?? opts.indexOf!(f.arch), metrics: f.metrics })),
            truth,
          ),
          trueFrontSize: truth.keys.length,
        }
      : undefined
  return {
    ok: true,
    run: dir,
    space: config.space,
    dataset: config.dataset,
    strategy: config.strategy,
    objectives: config.objectives,
    constraints: config.constraints,
    seed: config.seed,
    budget: config.budget,
    trials: rows.length,
    evaluations: rows.filter((r) => !r.cached && !r.skipped).length,
    cacheHits: rows.filter((r) => r.cached).length,
    failed: rows.filter((r) => r.status === 'failed').length,
    pruned: rows.filter((r) => r.status === 'pruned').length,
    skipped: rows.filter((r) => r.skipped).length,
    complete: opts.complete,
    ...(best ? { best: found(best) } : {}),
    front,
    ...(quality ? { quality } : {}),
    anytime,
    files: Object.fromEntries(
      Object.entries(RUN_FILES).map(([k, f]) => [k, join(dir, f)]),
    ) as RunSummary['files'],
  }
}

const csvCell = (v: string | number | undefined): string => {
  if (v === undefined) return ''
  const s = String(v)
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** `pareto.csv`: one row per front member, every metric as a column. */
export function frontCsv(summary: RunSummary): string {
  const metricNames = [...new Set(summary.front.flatMap((f) => Object.keys(f.metrics)))]
  const header = ['trial', 'arch', 'index', ...metricNames]
  const lines = [header.join(',')]
  for (const f of summary.front) {
    lines.push([f.trial, f.arch, f.index, ...metricNames.map((m) => f.metrics[m])].map(csvCell).join(','))
  }
  return lines.join('\n') + '\n'
}

/** Reads a run's journal and config. */
export function readRun(dir: string): { config: RunConfig; journal: JournalContents } {
  const config = readRunConfig(dir)
  const path = join(dir, RUN_FILES.journal)
  if (!existsSync(path)) {
    throw new NasError({ code: 'IO', message: `${path} is missing: nothing to report`, path: [path] })
  }
  return { config, journal: readJournal(path) }
}
