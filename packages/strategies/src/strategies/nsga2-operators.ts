import { crowdingDistance, nonDominatedSort } from '@nasjs/core'
import type { NonDominatedSortOptions, Rng } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'

// The NSGA-II operators (Deb, Pratap, Agarwal and Meyarivan 2002) that `nsga2` and the
// predictor-guided LINAS of `@nasjs/predictors` share, built on `nonDominatedSort` and
// `crowdingDistance` of `@nasjs/core`. Points are minimisation vectors. Every random choice takes
// the caller's `rng`, and the order of the draws is part of the contract: the same seed gives the
// same population.

/**
 * The non-domination rank and crowding distance of every point: what NSGA-II's crowded comparison
 * reads. Returned by {@link rankAndCrowding}.
 * @since 0.1.0
 * @category strategies
 */
export interface CrowdedRanking {
  /** The non-dominated fronts, best first, as indices into the points (ascending within a front). */
  readonly fronts: readonly (readonly number[])[]
  /** Per point, the index of its front (0 = not dominated by any other point). */
  readonly rank: Int32Array
  /** Per point, its crowding distance within its front (`Infinity` at the front's extremes). */
  readonly crowding: Float64Array
}

/**
 * Sorts `points` into non-dominated fronts and gives each point its front index (rank) and its
 * crowding distance within that front. With `violations`, the sort uses constrained domination
 * (feasible first, then smaller total violation), as `nonDominatedSort` does.
 *
 * @example
 * ```ts
 * const { rank, crowding } = rankAndCrowding([[1, 4], [2, 2], [4, 1], [3, 3]])
 * // rank: Int32Array [0, 0, 0, 1]; crowding: Float64Array [Infinity, 2, Infinity, Infinity]
 * ```
 * @since 0.1.0
 * @category strategies
 */
export function rankAndCrowding(
  points: readonly ArrayLike<number>[],
  opts: NonDominatedSortOptions = {},
): CrowdedRanking {
  const rank = new Int32Array(points.length)
  const crowding = new Float64Array(points.length)
  const fronts = nonDominatedSort(points, opts)
  fronts.forEach((front, r) => {
    const cd = crowdingDistance(points, front)
    front.forEach((i, k) => {
      rank[i] = r
      crowding[i] = cd[k]!
    })
  })
  return { fronts, rank, crowding }
}

/**
 * What the crowded comparison needs of a population member: its rank and crowding distance (see
 * {@link rankAndCrowding}).
 * @since 0.1.0
 * @category strategies
 */
export interface CrowdedMember {
  readonly rank: number
  readonly crowding: number
}

/**
 * Binary tournament with NSGA-II's crowded comparison: draws two members uniformly (with
 * replacement, `rng.choice` twice) and returns the one of lower rank, on equal rank the one with the
 * larger crowding distance, on a tie the first drawn.
 *
 * @example
 * ```ts
 * const parent = crowdedTournament(population, rng) // population: { rank, crowding, ... }[]
 * ```
 * @since 0.1.0
 * @category strategies
 */
export function crowdedTournament<T extends CrowdedMember>(population: readonly T[], rng: Rng): T {
  const a = rng.choice(population)
  const b = rng.choice(population)
  if (a.rank !== b.rank) return a.rank < b.rank ? a : b
  return a.crowding >= b.crowding ? a : b
}

/**
 * Options of {@link crowdedSurvivors}.
 * @since 0.1.0
 * @category strategies
 */
export interface CrowdedSurvivorsOptions extends NonDominatedSortOptions {
  /**
   * The first `preselected` points count as already chosen (for example architectures already
   * evaluated, sorted together with candidates): they shape the fronts and the crowding distances
   * but are never returned and do not count toward `size`. Default 0, NSGA-II's own selection.
   */
  readonly preselected?: number
}

/**
 * NSGA-II's elitist survivor selection: up to `size` indices into `points`, whole fronts in order
 * while they fit, then the members of the first front that does not fit by decreasing crowding
 * distance (ties by index). Within a whole front the indices ascend. Fronts whose points are all
 * preselected are skipped (see {@link CrowdedSurvivorsOptions.preselected}).
 *
 * @example
 * ```ts
 * crowdedSurvivors([[1, 4], [2, 2], [4, 1], [3, 3], [5, 5]], 4) // [0, 1, 2, 3]
 * // the first two points already evaluated: the best two candidates
 * crowdedSurvivors([[0, 5], [5, 0], [1, 6], [2, 2], [3, 3]], 2, { preselected: 2 }) // [3, 2]
 * ```
 * @since 0.1.0
 * @category strategies
 */
export function crowdedSurvivors(
  points: readonly ArrayLike<number>[],
  size: number,
  opts: CrowdedSurvivorsOptions = {},
): number[] {
  const pre = opts.preselected ?? 0
  const out: number[] = []
  const sortOpts = opts.violations === undefined ? {} : { violations: opts.violations }
  for (const front of nonDominatedSort(points, sortOpts)) {
    if (out.length >= size) break
    const fresh = front.filter((i) => i >= pre)
    if (fresh.length === 0) continue
    if (out.length + fresh.length <= size) {
      out.push(...fresh)
      continue
    }
    const cd = crowdingDistance(points, front)
    const crowd = new Map(front.map((i, k) => [i, cd[k]!]))
    // Infinity - Infinity is NaN, which `||` turns into the index order
    fresh.sort((a, b) => crowd.get(b)! - crowd.get(a)! || a - b)
    out.push(...fresh.slice(0, size - out.length))
  }
  return out
}

/**
 * Options of {@link breedChild}.
 * @since 0.1.0
 * @category strategies
 */
export interface BreedOptions {
  /** Probability that the child is a crossover of two parents (one `rng.uniform()` per child). */
  readonly crossoverProb: number
  /**
   * Probability that a crossover child is also mutated (one more `rng.uniform()`). Omitted: always,
   * without a draw. A child without crossover is always mutated, so it is never a clone.
   */
  readonly mutationProb?: number
}

/**
 * One NSGA-II child. Draws the first parent (`selectParent`, usually a {@link crowdedTournament}),
 * then with probability `crossoverProb` a second parent and crosses them (`space.crossover`), then
 * mutates (`space.mutate`): always when there was no crossover, with probability `mutationProb`
 * after one. The rng draws come in this order: first parent, crossover draw, second parent,
 * crossover, mutation draw, mutation.
 *
 * @example
 * ```ts
 * const child = breedChild(space, rng, () => crowdedTournament(population, rng).arch, {
 *   crossoverProb: 0.9,
 *   mutationProb: 0.5,
 * })
 * ```
 * @since 0.1.0
 * @category strategies
 */
export function breedChild<A>(
  space: Pick<SearchSpace<A>, 'crossover' | 'mutate'>,
  rng: Rng,
  selectParent: () => A,
  opts: BreedOptions,
): A {
  const first = selectParent()
  if (rng.uniform() < opts.crossoverProb) {
    const child = space.crossover(first, selectParent(), rng)
    if (opts.mutationProb === undefined || rng.uniform() < opts.mutationProb) return space.mutate(child, rng)
    return child
  }
  return space.mutate(first, rng)
}
