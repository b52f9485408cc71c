import { NasError, Rng } from '@nasjs/core'
import type { Evaluator, EvaluatorInfo, Metrics } from '@nasjs/core'
import { buildModel, modelCost, type Dataset } from '@nasjs/models'
import type { SearchSpace } from '@nasjs/search-space'
import { reinitialize } from './init.js'
import { createProxyRegistry } from './registry.js'
import { fitToShape, randomBatch, sampleBatch, scoreProxies } from './score.js'
import type { ProxyDefinition } from './types.js'

/**
 * Options of {@link proxyEvaluator}.
 * @since 0.1.0
 */
export interface ProxyEvaluatorOptions<A> {
  readonly space: SearchSpace<A>
  /** The proxies, as definitions or a comma-separated list of registered names (`'synflow,nwot'`). */
  readonly proxies: readonly ProxyDefinition[] | string
  /** Builder options of the network (input shape, classes, width); the builder's defaults otherwise. */
  readonly network?: Record<string, unknown>
  /** Examples the minibatch is drawn from (fitted to the network's input); Gaussian inputs with random labels when absent. */
  readonly data?: Dataset
  /** Examples in the minibatch (64). */
  readonly batchSize?: number
  /** Initial weights: `pytorch` (PyTorch's defaults, as published proxy tables) or `builder` (the builder's own). */
  readonly init?: 'pytorch' | 'builder'
  /**
   * Weights of a combined score `zc_score` = sum of weight * score over the named proxies, for
   * searching on several proxies at once (e.g. `{ synflow: 1, nwot: 0.01 }`).
   */
  readonly weights?: Readonly<Record<string, number>>
  readonly seed?: number
  /**
   * Where the scores come from: computed here (the default), or a table of published scores
   * (`(arch, proxy) => score`, e.g. NAS-Bench-Suite-Zero's NB201 columns through `proxyFeatures`'s
   * columns), in which case nothing is built and the metrics are `zc.table.<proxy>`, so every result
   * says where its scores came from.
   */
  readonly table?: (arch: A, proxy: string) => number
}

/**
 * The metric under which a proxy's score is reported (`zc.synflow`).
 * @since 0.1.0
 */
export const proxyMetric = (name: string, source: 'computed' | 'table' = 'computed'): string =>
  source === 'table' ? `zc.table.${name}` : `zc.${name}`

/**
 * An evaluator for the search driver that scores each architecture with zero-cost proxies instead
 * of training it: builds the network, initialises it, draws a minibatch and returns `zc.<proxy>` for
 * every proxy, `zc_score` when `weights` are given, and the builder's exact `params` and `flops`
 * (multiply-accumulates; known before anything is built, so cheap constraints skip a trial early).
 * The batch and the initialisation are drawn from a stream of (seed, architecture), so an
 * architecture scores the same whenever it comes. A score that is not a number (a network with no
 * path from input to output) fails the trial with the reason.
 *
 * @example
 * ```ts
 * import { runSearch, createStrategyRegistry } from '@nasjs/strategies'
 * const { evaluator, info } = proxyEvaluator({ space: nb201, proxies: 'synflow' })
 * await runSearch({ space: nb201, strategy, evaluator, objectives: ['zc.synflow:max'], budget: { trials: 100 } })
 * ```
 * @since 0.1.0
 * @category evaluators
 */
export function proxyEvaluator<A>(options: ProxyEvaluatorOptions<A>): {
  evaluator: Evaluator<A>
  info: EvaluatorInfo
} {
  const list =
    typeof options.proxies === 'string'
      ? createProxyRegistry().parseList(options.proxies)
      : [...options.proxies]
  const weights = options.weights
  if (weights !== undefined) {
    for (const [name, w] of Object.entries(weights)) {
      if (!list.some((p) => p.name === name)) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `weights: '${name}' is not one of the evaluator's proxies`,
          value: name,
          allowed: list.map((p) => p.name),
        })
      }
      if (!Number.isFinite(w)) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `weights: the weight of '${name}' is not a number`,
          value: w,
        })
      }
    }
  }
  const batchSize = options.batchSize ?? 64
  const seed = options.seed ?? 0
  const space = options.space
  let fitted: Dataset | undefined
  const source = options.table === undefined ? 'computed' : 'table'
  const metrics = [
    ...list.map((p) => proxyMetric(p.name, source)),
    ...(weights === undefined ? [] : ['zc_score']),
    'params',
    'flops',
  ]
  const combine = (out: Metrics) => {
    if (weights !== undefined) {
      out.zc_score = Object.entries(weights).reduce(
        (t, [name, w]) => t + w * out[proxyMetric(name, source)]!,
        0,
      )
    }
    return out
  }
  const table = options.table
  if (table !== undefined) {
    const lookup: Evaluator<A> = (arch) => {
      const network = { ...(options.network ?? {}), seed }
      const cost = modelCost(space as never, arch as never, network as never)
      const out: Metrics = { params: cost.params, flops: cost.flops }
      for (const p of list) {
        const v = table(arch, p.name)
        if (!Number.isFinite(v)) {
          return Promise.reject(
            new Error(`the table has no ${p.name} score for ${space.format(arch)} (${v})`),
          )
        }
        out[proxyMetric(p.name, 'table')] = v
      }
      return Promise.resolve(combine(out))
    }
    return { evaluator: lookup, info: { metrics, cheapMetrics: ['params', 'flops'] } }
  }
  const evaluator: Evaluator<A> = async (arch, ctx) => {
    const network = { ...(options.network ?? {}), seed }
    const cost = modelCost(space as never, arch as never, network as never)
    ctx.report(0, { params: cost.params, flops: cost.flops })
    const model = buildModel(space as never, arch as never, network as never)
    try {
      const rng = new Rng(`${seed}:${space.format(arch)}`)
      if ((options.init ?? 'pytorch') === 'pytorch') reinitialize(model, 'pytorch', rng)
      const shape = model.inputs[0]!.shape.slice(1) as number[]
      let batch
      if (options.data === undefined) {
        const out = model.outputs[0]!.shape
        batch = randomBatch(shape, batchSize, out[out.length - 1]!, rng)
      } else {
        if (fitted === undefined) {
          fitted =
            options.data.shape.join('x') === shape.join('x')
              ? options.data
              : fitToShape(options.data, shape as [number, number, number])
        }
        batch = sampleBatch(fitted, batchSize, rng)
      }
      if (ctx.signal.aborted) throw new NasError({ code: 'ABORTED', message: 'the search stopped' })
      const scores = await scoreProxies(model, list, batch, rng)
      const out: Metrics = { params: cost.params, flops: cost.flops }
      for (const s of scores) {
        if (!Number.isFinite(s.score))
          throw new Error(`proxy ${s.proxy} gives no score for this architecture (${s.score})`)
        out[proxyMetric(s.proxy)] = s.score
      }
      return combine(out)
    } finally {
      model.dispose()
    }
  }
  return { evaluator, info: { metrics, cheapMetrics: ['params', 'flops'] } }
}

/**
 * One candidate of {@link rankByProxy}: its place in the input, its score, and (for the top ones) its
 * evaluation.
 * @since 0.1.0
 */
export interface RankedCandidate<A> {
  readonly arch: A
  readonly index: number
  readonly score: number
  readonly metrics?: Metrics
}

/**
 * "Rank N by proxy, evaluate the top k" (the warm-up use of zero-cost proxies, Abdelfattah et al.):
 * scores every candidate, sorts them best first (`higherIsBetter`, NaN last), and evaluates the top
 * `k` with the expensive `evaluate` (training, a benchmark lookup). `onProgress` is called after each
 * scored candidate. Ties keep the input order.
 * @since 0.1.0
 * @category evaluators
 */
export async function rankByProxy<A>(options: {
  readonly candidates: readonly A[]
  readonly score: (arch: A) => Promise<number>
  readonly higherIsBetter?: boolean
  readonly top: number
  readonly evaluate?: (arch: A) => Promise<Metrics>
  readonly onProgress?: (done: number, total: number) => void
}): Promise<{ ranked: RankedCandidate<A>[]; evaluated: RankedCandidate<A>[] }> {
  const { candidates, top } = options
  if (!Number.isInteger(top) || top < 1) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `top must be a positive integer, got ${top}`,
      value: top,
    })
  }
  const sign = options.higherIsBetter === false ? -1 : 1
  const scored: RankedCandidate<A>[] = []
  for (const [index, arch] of candidates.entries()) {
    scored.push({ arch, index, score: await options.score(arch) })
    options.onProgress?.(index + 1, candidates.length)
  }
  const ranked = [...scored].sort((a, b) => {
    const fa = Number.isFinite(a.score)
    const fb = Number.isFinite(b.score)
    if (fa !== fb) return fa ? -1 : 1
    return fa && a.score !== b.score ? sign * (b.score - a.score) : a.index - b.index
  })
  const evaluated: RankedCandidate<A>[] = []
  if (options.evaluate !== undefined) {
    for (const c of ranked.slice(0, top)) evaluated.push({ ...c, metrics: await options.evaluate(c.arch) })
  }
  return { ranked, evaluated }
}
