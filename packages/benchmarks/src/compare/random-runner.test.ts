import { Rng } from '@nasjs/core'
import { nb201, type Nb201Arch } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'

import { randomSamplingRunner } from './random-runner.js'

const noop = () => undefined
const run = (replacement: boolean, budget: number, seed = 5, space = nb201) => {
  const seen: Nb201Arch[] = []
  return randomSamplingRunner(space, { replacement, hash: (a) => a.join() })({
    seed,
    budget,
    signal: new AbortController().signal,
    evaluator: (a) => {
      seen.push(a)
      return Promise.resolve({ valid_acc: 1 })
    },
  }).then((trials) => ({ trials, seen }))
}

describe('randomSamplingRunner', () => {
  it('draws the space uniformly from new Rng(seed), one query per draw', async () => {
    const { trials, seen } = await run(true, 50)
    const rng = new Rng(5)
    expect(seen).toEqual(Array.from({ length: 50 }, () => nb201.sample(rng)))
    expect(trials.map((t) => t.arch)).toEqual(seen)
  })

  it('never evaluates an architecture twice without replacement', async () => {
    // a 4-architecture space: with replacement repeats are certain in 30 draws
    const tiny = {
      sample: (rng: Rng) =>
        nb201
          .sample(rng)
          .map((_, i) => (i === 0 && rng.bernoulli() ? 'nor_conv_3x3' : 'none')) as unknown as Nb201Arch,
    }
    const w = await run(true, 30, 1, { ...nb201, sample: tiny.sample })
    expect(new Set(w.seen.map((a) => a.join())).size).toBeLessThan(30)
    const wo = await run(false, 2, 1, { ...nb201, sample: tiny.sample })
    expect(new Set(wo.seen.map((a) => a.join())).size).toBe(2)
    await expect(run(false, 3, 1, { ...nb201, sample: tiny.sample })).rejects.toThrow(/no new architecture/)
  })

  it('stops when the signal aborts', async () => {
    const ac = new AbortController()
    let n = 0
    const trials = await randomSamplingRunner(nb201)({
      seed: 1,
      budget: 100,
      signal: ac.signal,
      evaluator: () => {
        if (++n === 7) ac.abort()
        return Promise.resolve({ valid_acc: n })
      },
    })
    expect(trials.length).toBe(7)
    expect(noop()).toBeUndefined()
  })
})
