import { NasError, type Rng } from '@nasjs/core'
import { formatNb201, nb201Canonical } from '@nasjs/search-space'
import type { Nb201Benchmark } from './nb201.js'

/** Distinct canonical NB201 cells with a path from input to output (9,444 of the 15,625). */
export const NB201_CANONICAL_CONNECTED = 9444

/**
 * `n` distinct canonical NB201 cells that have a path from input to output, as benchmark indices, in
 * the order `rng` draws them (uniform cells of the space, each replaced by its canonical form,
 * repeats and disconnected cells skipped): the sample proxy studies score, where every functionally
 * different network counts once.
 * @since 0.1.0
 * @category sampling
 */
export function sampleCanonicalCells(bench: Nb201Benchmark, n: number, rng: Rng): number[] {
  if (!Number.isInteger(n) || n < 1 || n > NB201_CANONICAL_CONNECTED) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `a sample of distinct canonical NB201 cells has 1..${NB201_CANONICAL_CONNECTED} cells, got ${n}`,
      value: n,
      allowed: [`1..${NB201_CANONICAL_CONNECTED}`],
    })
  }
  const seen = new Set<string>()
  const cells: number[] = []
  while (cells.length < n) {
    const canonical = nb201Canonical(bench.archAt(rng.int(bench.size)))
    if (canonical.every((op) => op === 'none')) continue
    const key = formatNb201(canonical)
    if (seen.has(key)) continue
    seen.add(key)
    cells.push(bench.indexOf(canonical))
  }
  return cells
}
