import { z } from 'zod'
import { NasError, formatAllowed } from './errors.js'
import { constraintViolation, parseConstraint, parseObjective } from './objectives.js'
import type { Constraint, Objective } from './objectives.js'

/**
 * The rules every part of a search shares (the driver, the strategies, the CLI's reports, the web
 * app): what a budget is, what the result cache keys on, how objectives are given, and what a result
 * that lacks a metric means. Each is defined here once; see `docs/architecture.md`.
 */

/**
 * How a study's result cache identifies architectures:
 * - `exact`: the architecture itself (`space.format`); the default, right for any evaluator;
 * - `functional`: `space.hash`, so functionally equal architectures (e.g. NB201 cells that differ
 *   only in dead edges) are evaluated once, for evaluators that declare that equal functions give
 *   equal results;
 * - `off`: evaluate every trial.
 * @since 0.1.0
 * @category models
 */
export type CacheMode = 'functional' | 'exact' | 'off'

/** Every {@link CacheMode}. @since 0.1.0 */
export const CACHE_MODES: readonly CacheMode[] = ['exact', 'functional', 'off']

/**
 * An objective as text: `<metric>:max` or `<metric>:min` (the direction is required).
 * @since 0.1.0
 * @category models
 */
export type ObjectiveText = `${string}:max` | `${string}:min`

/**
 * A constraint as text, e.g. `latency.pixel3<=5`.
 * @since 0.1.0
 * @category models
 */
export type ConstraintText =
  `${string}<=${number}` | `${string}>=${number}` | `${string}<${number}` | `${string}>${number}`

/**
 * One or more objectives, as objects or `metric:direction` strings (an empty list is a type error
 * and, from untyped callers, an `OBJECTIVE_INVALID` error).
 * @since 0.1.0
 * @category models
 */
export type ObjectiveList = readonly [Objective | ObjectiveText, ...(Objective | ObjectiveText)[]]

/**
 * The zod schema of a budget: trials (told, cache hits and constraint skips included), evaluations
 * (trials that ran the evaluator), seconds of wall time (summed over resumed sessions) and cost
 * (summed evaluation cost). The search stops at the first limit reached; at least one is required.
 * @since 0.1.0
 * @category models
 */
export const BudgetSchema = z
  .object({
    trials: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('trials told, cache hits and constraint skips included'),
    evaluations: z.number().int().min(1).optional().describe('trials that run the evaluator'),
    seconds: z.number().positive().optional().describe('wall time, summed over resumed sessions'),
    cost: z.number().positive().optional().describe('summed evaluation cost'),
  })
  .strict()

type BudgetFields = {
  readonly trials?: number
  readonly evaluations?: number
  readonly seconds?: number
  readonly cost?: number
}
type AtLeastOne<T, K extends keyof T = keyof T> = K extends keyof T
  ? Required<Pick<T, K>> & Partial<Omit<T, K>>
  : never

/**
 * A search budget: at least one of `trials`, `evaluations`, `seconds` or `cost` (`{}` is a type
 * error, and from untyped callers a `BUDGET_INVALID` error).
 * @since 0.1.0
 * @category models
 */
export type Budget = AtLeastOne<BudgetFields>

/** The budget fields, for messages. @since 0.1.0 */
export const BUDGET_FIELDS = ['trials', 'evaluations', 'seconds', 'cost'] as const

/**
 * Checks a budget from an untyped source (a config file, JSON, a web form): a `BUDGET_INVALID`
 * NasError names the bad field, its value and the allowed fields.
 * @example parseBudget({ trials: 100 }) // { trials: 100 }
 * @since 0.1.0
 * @category constructors
 */
export function parseBudget(b: unknown): Budget {
  const r = BudgetSchema.safeParse(b)
  if (!r.success) {
    const issue = r.error.issues[0]!
    const field = issue.path.join('.')
    const got = field && typeof b === 'object' && b !== null ? (b as Record<string, unknown>)[field] : b
    throw new NasError({
      code: 'BUDGET_INVALID',
      message: `invalid budget${field ? ` ${field}` : ''}: ${issue.message} (got ${JSON.stringify(got)}); a budget has trials, evaluations (integers >= 1), seconds or cost (> 0)`,
      value: got,
      allowed: [...BUDGET_FIELDS],
      path: issue.path.map(String),
    })
  }
  const v = Object.fromEntries(Object.entries(r.data).filter(([, x]) => x !== undefined))
  if (Object.keys(v).length === 0) {
    throw new NasError({
      code: 'BUDGET_INVALID',
      message: 'a budget needs at least one of trials, evaluations, seconds or cost, e.g. { trials: 100 }',
      value: b,
      allowed: [...BUDGET_FIELDS],
    })
  }
  return v as Budget
}

/**
 * Parses objectives given as strings or objects: at least one, each with a direction, no metric
 * twice (`OBJECTIVE_INVALID` otherwise).
 * @since 0.1.0
 * @category constructors
 */
export function parseObjectives(list: readonly (Objective | string)[]): [Objective, ...Objective[]] {
  const n = (list as { length?: unknown } | undefined)?.length
  if (!Array.isArray(list) || typeof n !== 'number' || n === 0) {
    throw new NasError({
      code: 'OBJECTIVE_INVALID',
      message: 'a search needs at least one objective, e.g. valid_acc:max',
      value: list,
    })
  }
  const out = list.map((o: unknown, i) => {
    if (typeof o === 'string') return parseObjective(o)
    const obj = o as Partial<Objective> | null
    if (
      obj === null ||
      typeof obj !== 'object' ||
      typeof obj.name !== 'string' ||
      (obj.direction !== 'max' && obj.direction !== 'min')
    ) {
      throw new NasError({
        code: 'OBJECTIVE_INVALID',
        message: `objective ${i + 1} is ${JSON.stringify(o)}; expected 'metric:max', 'metric:min' or { name, direction: 'max' | 'min' }`,
        value: o,
        allowed: ['<metric>:max', '<metric>:min'],
        path: [i],
      })
    }
    return { name: obj.name, direction: obj.direction }
  }) as [Objective, ...Objective[]]
  const names = out.map((o) => o.name)
  const dup = names.find((name, i) => names.indexOf(name) !== i)
  if (dup !== undefined) {
    throw new NasError({
      code: 'OBJECTIVE_INVALID',
      message: `objective '${dup}' is given twice`,
      value: dup,
    })
  }
  return out
}

/**
 * Parses constraints given as strings or objects (`CONSTRAINT_INVALID` otherwise).
 * @since 0.1.0
 * @category constructors
 */
export function parseConstraints(list: readonly (Constraint | string)[] | undefined): Constraint[] {
  if (list === undefined) return []
  if (!Array.isArray(list)) {
    throw new NasError({
      code: 'CONSTRAINT_INVALID',
      message: `constraints must be a list such as ['latency.pixel3<=5'], got ${JSON.stringify(list)}`,
      value: list,
    })
  }
  return list.map((c: unknown) => {
    if (typeof c === 'string') return parseConstraint(c)
    const k = c as Partial<Constraint> | null
    if (
      k === null ||
      typeof k !== 'object' ||
      typeof k.metric !== 'string' ||
      !['<=', '>=', '<', '>'].includes(k.op as string) ||
      typeof k.bound !== 'number' ||
      !Number.isFinite(k.bound)
    ) {
      throw new NasError({
        code: 'CONSTRAINT_INVALID',
        message: `constraint ${JSON.stringify(c)} is not '<metric><op><number>' or { metric, op, bound }`,
        value: c,
        allowed: ['<=', '>=', '<', '>'],
      })
    }
    return { metric: k.metric, op: k.op!, bound: k.bound }
  })
}

/**
 * The missing-metric rule, the one place it is written: a result that lacks a constraint's metric
 * (or has NaN for it) violates that constraint without bound (`Infinity`), so it is never counted
 * feasible; a result that lacks an objective (or has a non-finite value) has no objective vector and
 * stays out of the best trial and the front ({@link objectiveVector}). The search driver goes
 * further and records a complete outcome without its objectives or constraint metrics as failed,
 * naming the missing metrics ({@link missingMetrics}).
 * @since 0.1.0
 * @category models
 */
export function totalViolation(
  constraints: readonly Constraint[],
  metrics: Readonly<Record<string, number>>,
): number {
  let v = 0
  for (const c of constraints) {
    const x = metrics[c.metric]
    v += x === undefined ? Number.POSITIVE_INFINITY : constraintViolation(c, x)
  }
  return v
}

/**
 * The objective values of a result in objective order, or `undefined` when one is missing or not
 * finite (see {@link totalViolation} for the rule).
 * @since 0.1.0
 */
export function objectiveVector(
  objectives: readonly Objective[],
  metrics: Readonly<Record<string, number>>,
): number[] | undefined {
  const out: number[] = []
  for (const o of objectives) {
    const x = metrics[o.name]
    if (x === undefined || !Number.isFinite(x)) return undefined
    out.push(x)
  }
  return out
}

/**
 * The objective and constraint metrics a result lacks (in that order, without repeats).
 * @since 0.1.0
 */
export function missingMetrics(
  objectives: readonly Objective[],
  constraints: readonly Constraint[],
  metrics: Readonly<Record<string, number>>,
): string[] {
  const names = [...objectives.map((o) => o.name), ...constraints.map((c) => c.metric)]
  return [...new Set(names)].filter((n) => !(n in metrics))
}

/**
 * The error for an objective or constraint metric an evaluator does not produce.
 * @since 0.1.0
 * @category errors
 */
export function metricMissingError(name: string, what: string, available: readonly string[]): NasError {
  return new NasError({
    code: 'METRIC_MISSING',
    message: `${what} '${name}' is not produced by the evaluator; it produces ${formatAllowed(available)}`,
    value: name,
    allowed: available,
  })
}
