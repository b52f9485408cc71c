import { NasError } from '@nasjs/core'
import type { z } from 'zod'
import type { FeatureMatrix, FitOptions, FittedPredictor, Predictor, PredictorRequirements } from './types.js'

/** `Array.isArray` without widening to `any[]`. @internal */
export const isArray = (x: unknown): x is readonly unknown[] => Array.isArray(x)

/** A dense row-major matrix. @internal */
export interface Dense {
  readonly data: Float64Array
  readonly rows: number
  readonly cols: number
}

/**
 * Checks a feature matrix (an array of equally long rows of finite numbers) and copies it into a
 * row-major `Float64Array`. `cols`, when given, is the width the rows must have.
 * @internal
 */
export function toDense(X: FeatureMatrix, what: string, cols?: number): Dense {
  if (!isArray(X)) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `${what} must be an array of feature rows, got ${X === null ? 'null' : typeof X}`,
      value: X,
    })
  }
  const rows = X.length
  const first = X[0]
  const d = cols ?? (first === undefined ? 0 : first.length)
  const data = new Float64Array(rows * d)
  for (let i = 0; i < rows; i++) {
    const row = X[i] as ArrayLike<number> | undefined
    if (row === undefined || row === null || typeof row.length !== 'number') {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `${what}[${i}] is not a feature row (an array of numbers)`,
        value: row,
        path: [i],
      })
    }
    if (row.length !== d) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `${what}[${i}] has ${row.length} features; expected ${d}${cols === undefined ? ` like ${what}[0]` : ' (the width the model was fitted on)'}`,
        value: row.length,
        allowed: [d],
        path: [i],
      })
    }
    for (let j = 0; j < d; j++) {
      const v = row[j]
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new NasError({
          code: 'INPUT_INVALID',
          message: `${what}[${i}][${j}] is ${String(v)}; features must be finite numbers`,
          value: v,
          path: [i, j],
        })
      }
      data[i * d + j] = v
    }
  }
  return { data, rows, cols: d }
}

/** Checks a training set: X and y of equal length >= `minRows`, finite targets, at least one feature. @internal */
export function checkTrainingSet(
  X: FeatureMatrix,
  y: ArrayLike<number>,
  model: string,
  minRows = 2,
): { X: Dense; y: Float64Array } {
  const dense = toDense(X, 'X')
  if (y === null || typeof y !== 'object' || typeof y.length !== 'number') {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `y must be an array of numbers, got ${y === null ? 'null' : typeof y}`,
      value: y,
    })
  }
  if (y.length !== dense.rows) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `X has ${dense.rows} rows but y has ${y.length} targets; they must match`,
      value: y.length,
      allowed: [dense.rows],
    })
  }
  if (dense.rows < minRows) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `${model} needs at least ${minRows} training architectures, got ${dense.rows}`,
      value: dense.rows,
      allowed: [`>= ${minRows}`],
    })
  }
  if (dense.cols < 1) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: 'X rows have no features; encode the architectures first (e.g. space.encode(a, "onehot"))',
      value: 0,
    })
  }
  const out = new Float64Array(y.length)
  for (let i = 0; i < y.length; i++) {
    const v = y[i]
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `y[${i}] is ${String(v)}; targets must be finite numbers (drop failed evaluations first)`,
        value: v,
        path: [i],
      })
    }
    out[i] = v
  }
  return { X: dense, y: out }
}

/** The error an unfitted predictor's `predict` throws. @internal */
export function notFittedError(name: string): NasError {
  return new NasError({
    code: 'NOT_FITTED',
    message: `the ${name} predictor is not fitted: call \`const fitted = await predictor.fit(X, y)\` and predict with \`fitted.predict(X)\``,
  })
}

/** The error every fitted model throws once disposed. @internal */
export function disposedError(name: string): NasError {
  return new NasError({
    code: 'NOT_FITTED',
    message: `the fitted ${name} model was disposed; fit the predictor again before predicting`,
  })
}

/**
 * Feature scaling fitted on the training rows. `zscore` centres each column and divides by its
 * standard deviation; `range` maps each column's training range onto [0, 1] (binary encodings stay
 * as they are). Constant columns keep scale 1. @internal
 */
export class Standardizer {
  readonly mean: Float64Array
  readonly scale: Float64Array

  constructor(X: Dense, mode: 'zscore' | 'range' = 'zscore') {
    const { data, rows, cols } = X
    this.mean = new Float64Array(cols)
    this.scale = new Float64Array(cols).fill(1)
    if (mode === 'range') {
      for (let j = 0; j < cols; j++) {
        let lo = Number.POSITIVE_INFINITY
        let hi = Number.NEGATIVE_INFINITY
        for (let i = 0; i < rows; i++) {
          const v = data[i * cols + j]!
          if (v < lo) lo = v
          if (v > hi) hi = v
        }
        this.mean[j] = rows > 0 ? lo : 0
        this.scale[j] = hi - lo > 1e-12 ? hi - lo : 1
      }
      return
    }
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) this.mean[j]! += data[i * cols + j]!
    for (let j = 0; j < cols; j++) this.mean[j]! /= rows
    const v = new Float64Array(cols)
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) {
        const c = data[i * cols + j]! - this.mean[j]!
        v[j]! += c * c
      }
    for (let j = 0; j < cols; j++) {
      const s = Math.sqrt(v[j]! / rows)
      this.scale[j] = s > 1e-12 ? s : 1
    }
  }

  transform(X: Dense): Dense {
    const { rows, cols } = X
    const data = new Float64Array(rows * cols)
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++)
        data[i * cols + j] = (X.data[i * cols + j]! - this.mean[j]!) / this.scale[j]!
    return { data, rows, cols }
  }
}

/** Mean and standard deviation (population; 1 when constant) of the targets. @internal */
export function targetScale(y: Float64Array): { mean: number; std: number } {
  let m = 0
  for (const v of y) m += v
  m /= y.length
  let s = 0
  for (const v of y) s += (v - m) * (v - m)
  const std = Math.sqrt(s / y.length)
  return { mean: m, std: std > 1e-12 ? std : 1 }
}

/**
 * Parses a model config with its zod schema; a bad value becomes a `NasError` (`CONFIG_INVALID`)
 * naming the field. @internal
 */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input)
  if (r.success) return r.data
  const issue = r.error.issues[0]!
  const kind = (input as { kind?: unknown } | null)?.kind
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol')
  throw new NasError({
    code: 'CONFIG_INVALID',
    message: `invalid ${String(kind)} predictor config at '${path.join('.') || '(root)'}': ${issue.message}`,
    value: path.reduce<unknown>((o, k) => (o as Record<string | number, unknown> | undefined)?.[k], input),
    path,
  })
}

/**
 * Builds a {@link Predictor} from a synchronous fit: `fit` runs `prepare` (e.g. loading a TF.js
 * backend) first and reports every error as a rejected promise; `predict` explains that the model
 * must be fitted first. @internal
 */
export function makePredictor(
  name: string,
  requirements: Omit<PredictorRequirements, 'trainingData' | 'partialLearningCurve'>,
  fitSync: (X: FeatureMatrix, y: ArrayLike<number>, options?: FitOptions) => FittedPredictor,
  prepare?: () => Promise<void>,
): Predictor {
  return {
    name,
    requirements: { trainingData: 'labels', partialLearningCurve: false, ...requirements },
    fit: async (X, y, options) => {
      if (prepare) await prepare()
      return fitSync(X, y, options)
    },
    fitSync,
    prepare: async () => {
      if (prepare) await prepare()
    },
    predict(): never {
      throw notFittedError(name)
    },
  }
}
