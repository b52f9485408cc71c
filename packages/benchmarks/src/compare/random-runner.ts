import { NasError, Rng } from '@nasjs/core'

import type { Runner, Trial } from './compare.js'

/**
 * Options of {@link randomSamplingRunner}.
 * @since 0.1.0
 */
export interface RandomSamplingOptions<A> {
  /**
   * Sample with replacement (default `true`): every query draws a fresh uniform architecture, so
   * repeats cost a query, as in NAS-Bench-201's random-search baseline. With `false`, repeats (by
   * `hash`) are redrawn and never evaluated twice.
   */
  readonly replacement?: boolean
  /** The identity used without replacement (e.g. the space's `hash`); default `JSON.stringify`. */
  readonly hash?: (arch: A) => string
}

/**
 * Uniform random search as a {@link Runner}: `budget` architectures drawn with `space.sample`
 * from `new Rng(seed)`, each evaluated once, in order.
 *
 * @example
 * ```ts
 * import { nb201 } from '@nasjs/search-space'
 * const runners = { random: randomSamplingRunner(nb201) }
 * ```
 * @since 0.1.0
 * @category comparison
 */
export function randomSamplingRunner<A>(
  space: { sample(rng: Rng): A },
  opts: RandomSamplingOptions<A> = {},
): Runner<A> {
  const replacement = opts.replacement ?? true
  const hash = opts.hash ?? ((a: A) => JSON.stringify(a))
  return async ({ seed, budget, evaluator, signal }) => {
    const rng = new Rng(seed)
    const seen = new Set<string>()
    const trials: Trial<A>[] = []
    for (let k = 0; k < budget && !signal.aborted; k++) {
      let arch = space.sample(rng)
      if (!replacement) {
        let tries = 0
        while (seen.has(hash(arch))) {
          if (++tries > 1000 + 10 * seen.size) {
            throw new NasError({
              code: 'BUDGET_INVALID',
              message: `random sampling without replacement found no new architecture after ${tries} draws; the space may hold fewer than ${budget} architectures`,
              value: budget,
            })
          }
          arch = space.sample(rng)
        }
        seen.add(hash(arch))
      }
      const metrics = await evaluator(arch, { signal, report: () => undefined })
      trials.push({ arch, metrics })
    }
    return trials
  }
}
