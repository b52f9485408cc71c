import type { TrainingSetup } from '@nasjs/models/node'
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { NasError, type Metrics } from '@nasjs/core'
import type { JournalHeader, TrialLedger, TrialRecord } from '@nasjs/strategies'
import { journalLockHolder } from '@nasjs/strategies/node'
import type { TableSession, TableTruth } from './targets.js'
import type { HardwareSetup } from './search/hardware.js'
import type { SupernetSetup } from './search/supernet.js'
import type { ProxySetup } from './search/proxy.js'

/** The files of a run directory. */
export const RUN_FILES = {
  journal: 'trials.jsonl',
  summary: 'summary.json',
  pareto: 'pareto.csv',
  report: 'report.html',
} as const

/** A trial on the front, or the incumbent. */
export interface FoundArch {
  readonly trial: number
  readonly arch: string
  readonly index?: number
  readonly metrics: Metrics
}

/** `summary.json`; its one-line form is what `nas search --json` prints last. */
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
  /** The feasible Pareto front (constrained domination), best first by the first objective. */
  readonly front: readonly FoundArch[]
  /** Against the benchmark's true front (several objectives on a tabular benchmark). */
  readonly quality?: {
    readonly relativeHypervolume: number
    readonly coverage: number
    readonly trueFrontSize: number
  }
  /**
   * The anytime curve as change points `[trial, value]`, ending at the last trial: the best feasible
   * value of the first objective (one objective), or the relative hypervolume of the feasible front
   * against the true front (several).
   */
  readonly anytime: readonly (readonly [number, number])[]
  readonly files: Readonly<Record<keyof typeof RUN_FILES, string>>
}

/** The header's `meta` of a `nas search` journal. */
export interface SearchMeta {
  readonly command: 'search'
  readonly dataset: string
  /** A training search (`--evaluator train`): its setup, as the journal header records it. */
  readonly training?: TrainingSetup
  /** A proxy search (`--evaluator proxy`): its setup, as the journal header records it. */
  readonly proxy?: ProxySetup
  /** A supernet search (`--evaluator supernet`): its setup, as the journal header records it. */
  readonly supernet?: SupernetSetup
  /** Hardware metrics and the MnasNet reward of the search, when it has any. */
  readonly hardware?: HardwareSetup
}

/** Reads the CLI's settings from a journal header (a journal not written by `nas search` is an error). */
export function searchMeta(header: JournalHeader, where: string): SearchMeta {
  const m = header.meta
  if (m?.['command'] !== 'search' || typeof m['dataset'] !== 'string') {
    throw new NasError({
      code: 'JOURNAL',
      message: `${where} was not written by nas search (its header has no dataset)`,
      path: [where],
    })
  }
  const training = m['training']
  if (training !== undefined && (typeof training !== 'object' || training === null)) {
    throw new NasError({
      code: 'JOURNAL',
      message: `${where}: the header's training setup is not an object`,
      path: [where],
    })
  }
  const proxy = m['proxy'] as ProxySetup | undefined
  if (
    proxy !== undefined &&
    (typeof proxy !== 'object' ||
      proxy === null ||
      !Array.isArray(proxy.proxies) ||
      typeof proxy.space !== 'string')
  ) {
    throw new NasError({
      code: 'JOURNAL',
      message: `${where}: the header's proxy setup is not an object with a space and a list of proxies`,
      path: [where],
    })
  }
  const supernet = m['supernet'] as SupernetSetup | undefined
  if (
    supernet !== undefined &&
    (typeof supernet !== 'object' ||
      supernet === null ||
      typeof supernet.dir !== 'string' ||
      typeof supernet.sha256 !== 'string' ||
      typeof supernet.supernet !== 'object')
  ) {
    throw new NasError({
      code: 'JOURNAL',
      message: `${where}: the header's supernet setup is not an object with the supernet's directory, digest and shape`,
      path: [where],
    })
  }
  return {
    command: 'search',
    dataset: m['dataset'],
    ...(training === undefined ? {} : { training: training }),
    ...(proxy === undefined ? {} : { proxy }),
    ...(supernet === undefined ? {} : { supernet }),
    ...(m['hardware'] === undefined ? {} : { hardware: m['hardware'] as HardwareSetup }),
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp`
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n')
  renameSync(tmp, path)
}

const ioError = (message: string, path: string, cause?: unknown): NasError =>
  new NasError({
    code: 'IO',
    message:
      cause === undefined
        ? message
        : `${message} (${(cause as { code?: string }).code ?? (cause instanceof Error ? cause.message : 'failed')})`,
    value: path,
    path: [path],
    ...(cause === undefined ? {} : { cause }),
  })

/**
 * Checks that `dir` can be a new run directory (or holds the run to resume) before anything is
 * written: a file in the way, a parent that is not a writable directory, or a run already there
 * (without `resume`) is one clear error.
 */
export function checkRunDir(dir: string, resume: boolean): void {
  const journal = join(dir, RUN_FILES.journal)
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw ioError(`--out ${dir} exists and is not a directory`, dir)
    if (resume) {
      if (!existsSync(journal))
        throw ioError(`--resume: ${dir} holds no run (${RUN_FILES.journal} is missing)`, dir)
      return
    }
    if (existsSync(journal)) {
      const holder = journalLockHolder(journal)
      if (holder !== undefined) {
        throw new NasError({
          code: 'JOURNAL',
          message: `journal ${journal} is in use by process ${holder.pid} on ${holder.host} (since ${holder.since}); a search is running in ${dir}`,
          value: holder.pid,
          path: [journal],
        })
      }
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `${dir} already holds a run; continue it with --resume or choose another --out`,
        value: dir,
      })
    }
    writable(dir)
    return
  }
  if (resume) throw ioError(`--resume: ${dir} does not exist`, dir)
  // the nearest existing ancestor must be a directory we may write into
  let up = dirname(dir)
  while (!existsSync(up) && dirname(up) !== up) up = dirname(up)
  if (!statSync(up).isDirectory()) throw ioError(`--out ${dir}: ${up} is not a directory`, dir)
  writable(up)
}

function writable(dir: string): void {
  try {
    accessSync(dir, constants.W_OK)
  } catch (cause) {
    throw ioError(`--out: cannot write into ${dir}`, dir, cause)
  }
}

/**
 * Creates `dir` one level at a time (a recursive mkdir can spin on pseudo file systems such as
 * /proc) and returns the directories it made, deepest last, for {@link removeCreated}.
 */
export function createRunDir(dir: string): string[] {
  const missing: string[] = []
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) missing.unshift(d)
  const made: string[] = []
  for (const d of missing) {
    try {
      mkdirSync(d)
    } catch (cause) {
      removeCreated(made)
      throw ioError(`cannot create the run directory ${d}`, d, cause)
    }
    made.push(d)
  }
  return made
}

/** Removes directories {@link createRunDir} made, if they are still empty. */
export function removeCreated(made: readonly string[]): void {
  for (const d of [...made].reverse()) {
    try {
      rmdirSync(d)
    } catch {
      return // not empty (or gone): leave it and its parents
    }
  }
}

/** What {@link buildSummary} needs besides the ledger. */
export interface SummaryInput {
  readonly dir: string
  readonly header: JournalHeader
  readonly dataset: string
  readonly ledger: TrialLedger<unknown>
  readonly session: TableSession
  readonly truth: TableTruth | undefined
  /** The trial budget in force (the header's, or a later journaled change). */
  readonly budget: number
  readonly complete: boolean
}

/** The run summary, read off the ledger (nothing is recomputed over the trials). */
export function buildSummary(input: SummaryInput): RunSummary {
  const { ledger, session, header } = input
  const space = ledger.space
  const found = (t: TrialRecord<unknown>): FoundArch => {
    const arch = space.format(t.arch)
    const index = session.indexOf(arch)
    return {
      trial: t.id,
      arch,
      ...(index !== undefined ? { index } : {}),
      metrics: (t.outcome as { metrics: Metrics }).metrics,
    }
  }
  const first = ledger.objectives[0]!
  const sign = first.direction === 'max' ? -1 : 1
  const front = ledger
    .front()
    .filter((t) => ledger.feasible(t))
    .map(found)
    .sort((a, b) => sign * (a.metrics[first.name]! - b.metrics[first.name]!) || a.trial - b.trial)
  const best = ledger.best()
  const quality =
    input.truth === undefined
      ? undefined
      : {
          ...input.truth.quality(front.map((f) => ({ key: f.index ?? -1, metrics: f.metrics }))),
          trueFrontSize: input.truth.size,
        }
  const trials = ledger.trials.length
  const anytime = [...ledger.anytime]
  const last = anytime[anytime.length - 1]
  if (last !== undefined && last[0] < trials) anytime.push([trials, last[1]])
  return {
    ok: true,
    run: input.dir,
    space: header.space,
    dataset: input.dataset,
    strategy: header.strategy.name,
    objectives: header.objectives,
    constraints: header.constraints,
    seed: header.seed,
    budget: input.budget,
    trials,
    evaluations: ledger.evaluations,
    cacheHits: ledger.cacheHits,
    failed: ledger.failed,
    pruned: ledger.pruned,
    skipped: ledger.skipped,
    complete: input.complete,
    ...(best !== undefined && ledger.feasible(best) ? { best: found(best) } : {}),
    front,
    ...(quality ? { quality } : {}),
    anytime,
    files: Object.fromEntries(
      Object.entries(RUN_FILES).map(([k, f]) => [k, join(input.dir, f)]),
    ) as RunSummary['files'],
  }
}

const csvCell = (v: string | number | undefined): string => {
  if (v === undefined) return ''
  const s = String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** `pareto.csv`: one row per front member, every metric as a column (names quoted as needed). */
export function frontCsv(summary: RunSummary): string {
  const metricNames = [...new Set(summary.front.flatMap((f) => Object.keys(f.metrics)))]
  const header = ['trial', 'arch', 'index', ...metricNames].map(csvCell)
  const lines = [header.join(',')]
  for (const f of summary.front) {
    lines.push([f.trial, f.arch, f.index, ...metricNames.map((m) => f.metrics[m])].map(csvCell).join(','))
  }
  return lines.join('\n') + '\n'
}

/** Reads a JSON file (a missing file is IO, bad JSON is CONFIG_INVALID). */
export function readJsonFile(path: string, what: string): unknown {
  if (!existsSync(path)) {
    throw new NasError({ code: 'IO', message: `${what} ${path} does not exist`, value: path, path: [path] })
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `${what} ${path} is not valid JSON`,
      value: path,
      cause,
    })
  }
}
