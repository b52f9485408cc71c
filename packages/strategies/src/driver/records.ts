import { BudgetSchema, CACHE_MODES, NasError } from '@nasjs/core'
import type { Budget, CacheMode, Metrics, TrialOutcome } from '@nasjs/core'
import { z } from 'zod'
import type { StrategyState } from '../types.js'

/**
 * The version written in every journal record; readers reject other versions.
 * @since 0.1.0
 */
export const JOURNAL_VERSION = 2

/**
 * A metric value as JSON: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"` (JSON has no
 * non-finite numbers, and `JSON.stringify` would turn them into `null`).
 */
const MetricValue = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']).transform(Number)])
const MetricsJson = z.record(z.string(), MetricValue)

const Outcome = z.discriminatedUnion('status', [
  z.object({ status: z.literal('complete'), metrics: MetricsJson }).strict(),
  z.object({ status: z.literal('failed'), reason: z.string() }).strict(),
  z.object({ status: z.literal('pruned'), step: z.number(), metrics: MetricsJson.optional() }).strict(),
])

const TrialNumber = z.number().int().min(0)

/**
 * The zod schema of the first record of a journal: what the study is. A resume checks every field
 * that shapes the run against the new session's settings.
 * @since 0.1.0
 */
export const JournalHeaderSchema = z
  .object({
    v: z.literal(JOURNAL_VERSION),
    type: z.literal('header'),
    study: z.string(),
    created: z.string(),
    space: z.string(),
    strategy: z.object({ name: z.string(), config: z.unknown() }).strict(),
    objectives: z.array(z.string()).min(1),
    constraints: z.array(z.string()),
    seed: z.number().int(),
    budget: BudgetSchema,
    cache: z.enum(CACHE_MODES as [CacheMode, ...CacheMode[]]),
    concurrency: z.number().int().min(1),
    /** The caller's own settings that must match on resume (e.g. the CLI's dataset). */
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()

/**
 * The first record of a journal.
 * @since 0.1.0
 */
export interface JournalHeader {
  readonly v: typeof JOURNAL_VERSION
  readonly type: 'header'
  readonly study: string
  readonly created: string
  readonly space: string
  readonly strategy: { readonly name: string; readonly config: unknown }
  /** `name:direction` strings. */
  readonly objectives: readonly string[]
  /** `metric<=bound` strings. */
  readonly constraints: readonly string[]
  readonly seed: number
  /** The budget the study was created with (later `budget` records raise it). */
  readonly budget: Budget
  readonly cache: CacheMode
  readonly concurrency: number
  readonly meta?: Readonly<Record<string, unknown>>
}

/**
 * One record after the header.
 * @since 0.1.0
 */
export type JournalEntry =
  /** The strategy proposed trial `trial` (written before it is evaluated). */
  | {
      readonly v: typeof JOURNAL_VERSION
      readonly type: 'ask'
      readonly trial: number
      readonly arch: unknown
      readonly hash: string
      readonly fidelity?: number
    }
  /** Trial `trial` ended; `cached` when the result cache answered it. */
  | {
      readonly v: typeof JOURNAL_VERSION
      readonly type: 'tell'
      readonly trial: number
      readonly outcome: TrialOutcome
      readonly cached: boolean
      readonly durationMs: number
      /** Search time so far (all sessions), for wall-time budgets across resumes. */
      readonly elapsedMs: number
      /** What the trial counts towards a cost budget. */
      readonly cost: number
      /** A cheap constraint was violated, so the evaluator never ran. */
      readonly skipped?: true
    }
  /** The strategy's complete state after the preceding records; a resume replays only what follows. */
  | {
      readonly v: typeof JOURNAL_VERSION
      readonly type: 'snapshot'
      readonly trials: number
      readonly state: StrategyState
    }
  /** A session resumed the journal. */
  | {
      readonly v: typeof JOURNAL_VERSION
      readonly type: 'resume'
      readonly at: string
      readonly trialsDone: number
    }
  /** A session changed the budget (the only setting a resume may change). */
  | {
      readonly v: typeof JOURNAL_VERSION
      readonly type: 'budget'
      readonly at: string
      readonly budget: Budget
    }
  /** A session ended (the search may be resumed with a larger budget). */
  | {
      readonly v: typeof JOURNAL_VERSION
      readonly type: 'end'
      readonly reason: string
      readonly trialsDone: number
      readonly elapsedMs: number
    }

/**
 * One line of a journal (JSON Lines).
 * @since 0.1.0
 */
export type JournalRecord = JournalHeader | JournalEntry

const V = z.literal(JOURNAL_VERSION)
const EntrySchema = z.discriminatedUnion('type', [
  z
    .object({
      v: V,
      type: z.literal('ask'),
      trial: TrialNumber,
      arch: z.unknown(),
      hash: z.string().min(1),
      fidelity: z.number().optional(),
    })
    .strict(),
  z
    .object({
      v: V,
      type: z.literal('tell'),
      trial: TrialNumber,
      outcome: Outcome,
      cached: z.boolean(),
      durationMs: z.number().min(0),
      elapsedMs: z.number().min(0),
      cost: z.number(),
      skipped: z.literal(true).optional(),
    })
    .strict(),
  z
    .object({
      v: V,
      type: z.literal('snapshot'),
      trials: TrialNumber,
      state: z.record(z.string(), z.unknown()),
    })
    .strict(),
  z.object({ v: V, type: z.literal('resume'), at: z.string(), trialsDone: TrialNumber }).strict(),
  z.object({ v: V, type: z.literal('budget'), at: z.string(), budget: BudgetSchema }).strict(),
  z
    .object({
      v: V,
      type: z.literal('end'),
      reason: z.string(),
      trialsDone: TrialNumber,
      elapsedMs: z.number().min(0),
    })
    .strict(),
])

const ENTRY_TYPES = ['ask', 'tell', 'snapshot', 'resume', 'budget', 'end'] as const

/**
 * Validates one parsed line of a journal. `line` is 1-based; `where` names the journal in messages.
 * A bad record is a `JOURNAL` NasError naming the journal, the line and the field.
 * @since 0.1.0
 */
export function parseJournalRecord(json: unknown, line: number, where: string): JournalRecord {
  const r = json as { v?: unknown; type?: unknown } | null
  if (r === null || typeof r !== 'object') {
    throw journalError(where, line, `is ${JSON.stringify(json)}, not a record`, json)
  }
  if (r.v !== JOURNAL_VERSION) {
    throw new NasError({
      code: 'JOURNAL',
      message: `journal ${where} line ${line} has version ${String(r.v)}; this nasjs reads version ${JOURNAL_VERSION}`,
      value: r.v,
      allowed: [JOURNAL_VERSION],
      path: [where, line],
    })
  }
  if (line === 1 ? r.type !== 'header' : r.type === 'header' || !ENTRY_TYPES.includes(r.type as never)) {
    throw new NasError({
      code: 'JOURNAL',
      message: `journal ${where} line ${line}: unexpected record type ${JSON.stringify(r.type)} (the first line is the header, then ${ENTRY_TYPES.join(', ')} records)`,
      value: r.type,
      allowed: line === 1 ? ['header'] : [...ENTRY_TYPES],
      path: [where, line],
    })
  }
  const parsed = (line === 1 ? JournalHeaderSchema : EntrySchema).safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const field = issue.path.join('.')
    throw journalError(
      where,
      line,
      `${String(r.type)} record${field ? ` field '${field}'` : ''}: ${issue.message}`,
      json,
    )
  }
  // keep the parsed JSON itself (no second copy of a large journal in memory) unless zod changed
  // something: metric values written as "NaN" / "Infinity" strings become numbers
  return (hasMetricStrings(json) ? parsed.data : json) as JournalRecord
}

function hasMetricStrings(json: unknown): boolean {
  const m = (json as { outcome?: { metrics?: Record<string, unknown> } }).outcome?.metrics
  if (m === undefined) return false
  for (const k in m) if (typeof m[k] === 'string') return true
  return false
}

function journalError(where: string, line: number, what: string, value: unknown): NasError {
  return new NasError({
    code: 'JOURNAL',
    message: `journal ${where} line ${line}: ${what}`,
    value,
    path: [where, line],
  })
}

const jsonMetric = (x: number): number | string => (Number.isFinite(x) ? x : String(x))

function metricsJson(m: Metrics): Record<string, number | string> {
  let finite = true
  for (const k in m) if (!Number.isFinite(m[k])) finite = false
  if (finite) return m
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, jsonMetric(v)]))
}

/**
 * An outcome as journal JSON: non-finite metric values become strings (see the record schema).
 * @since 0.1.0
 */
export function outcomeJson(o: TrialOutcome): unknown {
  if (o.status === 'complete') return { status: 'complete', metrics: metricsJson(o.metrics) }
  if (o.status === 'pruned' && o.metrics !== undefined) return { ...o, metrics: metricsJson(o.metrics) }
  return o
}
