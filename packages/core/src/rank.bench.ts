import { bench, describe } from 'vitest'
import { kendallTau, spearmanRho } from './rank.js'
import { Rng } from './rng.js'
import { bruteKendallTau } from './testing-internal/brute.js'

const rng = new Rng(7)
const pairs = (n: number): [number[], number[]] => {
  const x = Array.from({ length: n }, () => rng.uniform())
  return [x, x.map((v) => v + 0.3 * rng.normal())]
}
const [x100k, y100k] = pairs(100_000)
const [x5k, y5k] = pairs(5_000)

describe('rank correlation, 100,000 pairs', () => {
  bench('kendallTau (Knight, O(n log n))', () => {
    kendallTau(x100k, y100k)
  })
  bench('spearmanRho', () => {
    spearmanRho(x100k, y100k)
  })
})

describe('kendallTau vs the O(n^2) definition, 5,000 pairs', () => {
  bench('kendallTau (Knight)', () => {
    kendallTau(x5k, y5k)
  })
  bench('brute force O(n^2)', () => {
    bruteKendallTau(x5k, y5k)
  })
})
