import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import type { EvaluatorContext } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import { createStrategyRegistry, runSearch } from '@nasjs/strategies'
import { beforeAll, describe, expect, it } from 'vitest'
import { modelCost } from './build.js'
import type { Dataset } from './data/dataset.js'
import { memoryCheckpoints, trainingEvaluator } from './evaluator.js'
import { loadDataset } from './node/index.js'

let data: { train: Dataset; valid: Dataset; test: Dataset }
beforeAll(async () => {
  await initBackend({ quiet: true })
  data = await loadDataset('digits', { seed: 1, train: 400, valid: 200, test: 200 })
})

const network = { channels: 4, cellsPerStage: 1 }
const ctx = (over: Partial<EvaluatorContext> = {}): EvaluatorContext & { reports: number[] } => {
  const reports: number[] = []
  return { signal: new AbortController().signal, report: (step) => reports.push(step), reports, ...over }
}

describe('trainingEvaluator', () => {
  it('trains each architecture and returns valid_acc, test_acc, params, flops and train_seconds', async () => {
    const evaluator = trainingEvaluator({
      space: nb201,
      data,
      network,
      train: { optimizer: 'adam', lr: 0.01, epochs: 2, weightDecay: 0 },
    })
    expect(evaluator.info).toMatchObject({
      metrics: ['valid_acc', 'test_acc', 'params', 'flops', 'train_seconds'],
      functionalCache: false,
    })
    const arch = nb201.parse(
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
    )
    const c = ctx()
    const m = await evaluator(arch, c)
    expect(m.valid_acc).toBeGreaterThan(30)
    expect(m.test_acc).toBeGreaterThan(30)
    const cost = modelCost(nb201, arch, { ...network, inputShape: [8, 8, 1] })
    expect([m.params, m.flops]).toEqual([cost.params, cost.flops])
    expect(m.train_seconds).toBeGreaterThan(0)
    expect(c.reports).toEqual([1, 2]) // one report per epoch
    // a strategy's fidelity is the number of epochs; the seed makes it reproducible
    const f = ctx({ fidelity: 1, seed: 7 })
    const once = await evaluator(arch, f)
    expect(f.reports).toEqual([1])
    expect((await evaluator(arch, ctx({ fidelity: 1, seed: 7 }))).valid_acc).toBe(once.valid_acc)
    await expectNoLeaks(() => evaluator(arch, ctx({ fidelity: 1 })))
  }, 120_000)

  it('drives a search: REA over NB201 cells trained on the digits, every trial complete', async () => {
    const evaluator = trainingEvaluator({ space: nb201, data, network, train: { epochs: 1 } })
    const strategy = createStrategyRegistry().create(
      'rea',
      { populationSize: 3, sampleSize: 2 },
      {
        space: nb201,
        rng: new Rng(1),
        objectives: [{ name: 'valid_acc', direction: 'max' }],
      },
    )
    const r = await runSearch({
      space: nb201,
      strategy,
      evaluator,
      objectives: ['valid_acc:max'],
      budget: { evaluations: 4 },
      seed: 1,
    })
    expect(r.evaluations).toBe(4)
    expect(r.failed).toBe(0)
    expect(r.best?.outcome).toMatchObject({ status: 'complete' })
  }, 120_000)

  it('a diverging run is a failed trial with the reason; an aborted search stops training', async () => {
    const arch = nb201.sample(new Rng(3))
    const diverging = trainingEvaluator({
      space: nb201,
      data,
      network,
      train: { lr: 1e6, divergenceLoss: 100 },
    })
    await expect(diverging(arch, ctx())).rejects.toThrow(/diverged at step/)
    const ac = new AbortController()
    ac.abort()
    await expect(
      trainingEvaluator({ space: nb201, data, network })(arch, ctx({ signal: ac.signal })),
    ).rejects.toMatchObject({ code: 'ABORTED' })
    await expect(
      trainingEvaluator({ space: nb201, data, network })(arch, ctx({ fidelity: 0.5 })),
    ).rejects.toMatchObject({ code: 'INPUT_INVALID' })
  }, 60_000)

  it('with a checkpoint store, a promoted trial continues from the lower rung and ends as one trained straight', async () => {
    const arch = nb201.parse(
      '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|',
    )
    const recipe = { epochs: 3, batchSize: 50 }
    const promoted = trainingEvaluator({
      space: nb201,
      data,
      network,
      train: recipe,
      checkpoints: memoryCheckpoints(),
    })
    const low = await promoted(arch, ctx({ fidelity: 1, seed: 5 }))
    expect(low.epochs_resumed).toBeUndefined()
    // the promotion comes as another trial with another seed: the stored state (seed 5) is continued
    const c = ctx({ fidelity: 3, seed: 9 })
    const high = await promoted(arch, c)
    expect(high.epochs_resumed).toBe(1)
    expect(c.reports).toEqual([2, 3]) // only the epochs it trained
    const straight = trainingEvaluator({
      space: nb201,
      data,
      network,
      train: recipe,
      checkpoints: memoryCheckpoints(),
    })
    const full = await straight(arch, ctx({ fidelity: 3, seed: 5 }))
    expect(high.valid_acc).toBe(full.valid_acc)
    expect(high.test_acc).toBe(full.test_acc)
    // a lower fidelity after a higher one trains from scratch
    expect((await promoted(arch, ctx({ fidelity: 1, seed: 5 }))).valid_acc).toBe(low.valid_acc)
  }, 120_000)
})
