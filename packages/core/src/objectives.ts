import { NasError } from './errors.js'

/** Whether an objective is to be minimised or maximised. */
export type Direction = 'min' | 'max'

/**
 * A named metric with a direction, e.g. `{ name: 'valid_acc', direction: 'max' }`.
 * @since 0.1.0
 * @category models
 */
export interface Objective {
  readonly name: string
  readonly direction: Direction
}

/** A bound on a metric, e.g. `latency.pixel3 <= 5`. */
export interface Constraint {
  readonly metric: string
  readonly op: '<=' | '>=' | '<' | '>'
  readonly bound: number
}

const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*$/

/**
 * Parses `name:max` / `name:min`. The direction is required: a bare `latency.pixel3` could mean
 * either, so it is an `OBJECTIVE_INVALID` error that names both forms.
 * @example parseObjective('latency.pixel3:min') // { name: 'latency.pixel3', direction: 'min' }
 */
export function parseObjective(text: string): Objective {
  const m = /^\s*([^:\s]+)\s*(?::\s*(\w+)\s*)?$/.exec(text)
  const name = m?.[1]
  const dir = m?.[2]
  if (!m || name === undefined || !METRIC_NAME.test(name)) {
    throw new NasError({
      code: 'OBJECTIVE_INVALID',
      message: `malformed objective '${text}'; expected <metric>:max or <metric>:min, e.g. valid_acc:max`,
      value: text,
      allowed: ['<metric>:max', '<metric>:min'],
    })
  }
  if (dir === undefined) {
    throw new NasError({
      code: 'OBJECTIVE_INVALID',
      message: `objective '${text.trim()}' needs a direction: ${name}:max or ${name}:min`,
      value: text,
      allowed: [`${name}:max`, `${name}:min`],
    })
  }
  if (dir !== 'min' && dir !== 'max') {
    throw new NasError({
      code: 'OBJECTIVE_INVALID',
      message: `objective '${text}' has direction '${dir}'; expected 'max' or 'min'`,
      value: dir,
      allowed: ['max', 'min'],
    })
  }
  return { name, direction: dir }
}

/**
 * Parses `metric<=bound` (also `>=`, `<`, `>`), e.g. `latency.pixel3<=5`.
 */
export function parseConstraint(text: string): Constraint {
  const m = /^\s*([A-Za-z_][\w.-]*)\s*(<=|>=|<|>)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/.exec(text)
  if (!m) {
    throw new NasError({
      code: 'CONSTRAINT_INVALID',
      message: `malformed constraint '${text}'; expected <metric><op><number> with op one of <=, >=, <, >, e.g. latency.pixel3<=5`,
      value: text,
      allowed: ['<=', '>=', '<', '>'],
    })
  }
  return { metric: m[1]!, op: m[2] as Constraint['op'], bound: Number(m[3]) }
}

/** How far `value` is outside the constraint (0 when it holds). Used for Deb's constrained domination. */
export function constraintViolation(c: Constraint, value: number): number {
  if (Number.isNaN(value)) return Number.POSITIVE_INFINITY
  switch (c.op) {
    case '<=':
      return value <= c.bound ? 0 : value - c.bound
    case '<':
      return value < c.bound ? 0 : value - c.bound + Number.EPSILON
    case '>=':
      return value >= c.bound ? 0 : c.bound - value
    case '>':
      return value > c.bound ? 0 : c.bound - value + Number.EPSILON
  }
}

/** Formats an objective back to `name:direction`. */
export const formatObjective = (o: Objective): string => `${o.name}:${o.direction}`

/** Formats a constraint back to `metric<=bound`. */
export const formatConstraint = (c: Constraint): string => `${c.metric}${c.op}${c.bound}`

/**
 * Turns metric values into a minimisation vector: `max` objectives are negated. Every Pareto
 * routine in this package works on such vectors.
 */
export function toMinimization(
  objectives: readonly Objective[],
  metrics: Readonly<Record<string, number>>,
): number[] {
  return objectives.map((o) => {
    const v = metrics[o.name]
    if (v === undefined) {
      throw new NasError({
        code: 'METRIC_MISSING',
        message: `objective '${o.name}' is not among the metrics ${Object.keys(metrics).join(', ') || '(none)'}`,
        value: o.name,
        allowed: Object.keys(metrics),
      })
    }
    return o.direction === 'max' ? -v : v
  })
}
