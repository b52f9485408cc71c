import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { NasError } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildModel } from './build.js'
import type { Dataset } from './data/dataset.js'
import { loadDataset } from './node/index.js'
import type { Slots } from './train.js'
import { applyUpdate, crossEntropy, evaluate, learningRate, parseTrainConfig, train } from './train.js'

let digits: { train: Dataset; valid: Dataset }
beforeAll(async () => {
  await initBackend({ quiet: true })
  const d = await loadDataset('digits', { seed: 0, valid: 300, test: 0.01 })
  digits = { train: d.train, valid: d.valid }
})

const CELL = nb201.parse(
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
)
const small = (seed = 0) =>
  buildModel(nb201, CELL, { channels: 8, cellsPerStage: 1, inputShape: [8, 8, 1], seed })

/** Runs `steps` updates of our rule and of TF.js's own optimizer on f(w) = sum((w - 3)^2 * k). */
function againstTfjs(config: Record<string, unknown>, reference: tf.Optimizer, steps = 6): number {
  const c = parseTrainConfig({ weightDecay: 0, ...config })
  const start = tf.tensor1d([0.5, -1, 2, 4])
  const k = tf.tensor1d([1, 2, 0.5, 3])
  const loss = (w: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.square(tf.sub(w, 3)), k))
  const ours = tf.variable(start.clone())
  const theirs = tf.variable(start.clone())
  const slots: Slots = {
    m: [tf.variable(tf.zerosLike(ours), false)],
    v: [tf.variable(tf.zerosLike(ours), false)],
  }
  for (let t = 1; t <= steps; t++) {
    const { grads } = tf.variableGrads(() => loss(ours), [ours])
    applyUpdate(c, [ours], [grads[ours.name]!], slots, c.lr, t)
    tf.dispose(Object.values(grads))
    reference.minimize(() => loss(theirs), false, [theirs])
  }
  const diff = tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0]!
  tf.dispose([start, k, ours, theirs, ...slots.m, ...slots.v])
  reference.dispose()
  return diff
}

describe('optimizers, checked against TF.js and the papers', () => {
  it('SGD with momentum (plain and Nesterov) equals tf.train.momentum', () => {
    expect(
      againstTfjs(
        { optimizer: 'sgd', lr: 0.05, momentum: 0.9, nesterov: false },
        tf.train.momentum(0.05, 0.9, false),
      ),
    ).toBeLessThan(1e-6)
    expect(
      againstTfjs(
        { optimizer: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true },
        tf.train.momentum(0.05, 0.9, true),
      ),
    ).toBeLessThan(1e-6)
  })

  it('Adam equals tf.train.adam (bias-corrected; epsilon placement differs by under 1e-6 here)', () => {
    expect(
      againstTfjs({ optimizer: 'adam', lr: 0.1, epsilon: 1e-8 }, tf.train.adam(0.1, 0.9, 0.999, 1e-8)),
    ).toBeLessThan(1e-5)
  })

  it('AdamW decays weights apart from the gradient; Lion steps by the sign (one step by hand)', () => {
    const w = tf.variable(tf.tensor1d([1, -2, 0.5]))
    const zero = tf.zeros([3])
    const slots: Slots = { m: [tf.variable(tf.zeros([3]), false)], v: [tf.variable(tf.zeros([3]), false)] }
    applyUpdate(
      parseTrainConfig({ optimizer: 'adamw', lr: 0.1, weightDecay: 0.5 }),
      [w],
      [zero],
      slots,
      0.1,
      1,
    )
    expect(Array.from(w.dataSync())).toEqual([0.95, -1.9, 0.475].map(Math.fround))
    const v = tf.variable(tf.tensor1d([1, -2, 0.5]))
    const g = tf.tensor1d([0.3, -0.2, 0])
    const lion: Slots = { m: [tf.variable(tf.tensor1d([0, 1, -1]), false)], v: [] }
    applyUpdate(parseTrainConfig({ optimizer: 'lion', lr: 0.01, weightDecay: 0.1 }), [v], [g], lion, 0.01, 1)
    // update = sign(0.9 m + 0.1 g) = sign([0.03, 0.88, -0.9]) = [1, 1, -1]; w = w (1 - lr wd) - lr update
    const want = [1 * 0.999 - 0.01, -2 * 0.999 - 0.01, 0.5 * 0.999 + 0.01]
    Array.from(v.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(want[i]!, 6))
    // m = 0.99 m + 0.01 g
    Array.from(lion.m[0]!.dataSync()).forEach((x, i) => expect(x).toBeCloseTo([0.003, 0.988, -0.99][i]!, 6))
    tf.dispose([w, zero, v, g, ...slots.m, ...slots.v, ...lion.m])
  })

  it('schedules: linear warm-up, cosine to zero, step decay', () => {
    const c = parseTrainConfig({ lr: 0.1, warmupSteps: 10 })
    expect(learningRate(c, 0, 110, 10)).toBeCloseTo(0.01)
    expect(learningRate(c, 9, 110, 10)).toBeCloseTo(0.1)
    expect(learningRate(c, 10, 110, 10)).toBeCloseTo(0.1)
    expect(learningRate(c, 60, 110, 10)).toBeCloseTo(0.05)
    expect(learningRate(c, 110, 110, 10)).toBeCloseTo(0)
    const s = parseTrainConfig({ lr: 0.1, schedule: 'step', stepEvery: 2, stepGamma: 0.5 })
    expect([0, 19, 20, 40].map((t) => learningRate(s, t, 100, 10))).toEqual([0.1, 0.1, 0.05, 0.025])
  })

  it('label smoothing: the cross-entropy against the smoothed target', () => {
    const logits = tf.tensor2d([[2, 0, -1]])
    const y = tf.tensor1d([0], 'int32')
    const logp = [2, 0, -1].map((z) => z - Math.log(Math.exp(2) + Math.exp(0) + Math.exp(-1)))
    const eps = 0.1
    const want = -((1 - eps + eps / 3) * logp[0]! + (eps / 3) * logp[1]! + (eps / 3) * logp[2]!)
    expect(crossEntropy(logits, y, 3, eps).dataSync()[0]).toBeCloseTo(want, 5)
    expect(crossEntropy(logits, y, 3).dataSync()[0]).toBeCloseTo(-logp[0]!, 5)
    tf.dispose([logits, y])
  })
})

describe('train', () => {
  it('learns the 8x8 digits with a scaled-down NB201 network, reproducibly and without leaks', async () => {
    const run = async () => {
      const model = small(1)
      const r = await train(model, digits.train, {
        optimizer: 'adam',
        lr: 0.01,
        epochs: 3,
        batchSize: 64,
        weightDecay: 0,
        seed: 4,
      })
      const acc = evaluate(model, digits.valid).acc
      const w = Array.from(model.getWeights()[0]!.dataSync().slice(0, 20))
      model.dispose()
      return { r, acc, w }
    }
    const a = await run() // the first run grows the wasm heap once; the second must not
    expect(a.r.status).toBe('complete')
    expect(a.r.steps).toBe(3 * Math.ceil(digits.train.y.length / 64))
    expect(a.acc).toBeGreaterThan(0.8)
    const b = await expectNoLeaks(run)
    expect(b.w).toEqual(a.w)
    expect(b.r.trainLoss).toBe(a.r.trainLoss)
  }, 120_000)

  it('every optimizer lowers the loss, with clipping, noise, smoothing and augmentation', async () => {
    for (const optimizer of ['sgd', 'adam', 'adamw', 'lion'] as const) {
      const model = small(2)
      const before = evaluate(model, digits.valid).loss
      const r = await train(model, digits.train, {
        optimizer,
        lr: optimizer === 'sgd' ? 0.05 : optimizer === 'lion' ? 0.001 : 0.005,
        epochs: 1,
        clipNorm: 5,
        gradientNoise: { eta: 0.001 },
        labelSmoothing: 0.1,
        augment: { cropPadding: 1 },
        warmupSteps: 3,
      })
      expect(r.status, optimizer).toBe('complete')
      expect(evaluate(model, digits.valid).loss, optimizer).toBeLessThan(before)
      model.dispose()
    }
  }, 120_000)

  it('leaves the weights of a node that reaches no output alone, as PyTorch does', async () => {
    // nodes 1 and 2 feed nothing into node 3: their convolutions get no gradient
    const dead = nb201.parse(
      '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|',
    )
    const model = buildModel(nb201, dead, { channels: 4, cellsPerStage: 1, inputShape: [8, 8, 1] })
    const before = model.trainableWeights.map((w) => Array.from(w.read().dataSync()))
    const r = await train(model, digits.train, { optimizer: 'adamw', lr: 0.01, maxSteps: 3 })
    expect(r.status).toBe('budget')
    const after = model.trainableWeights.map((w) => Array.from(w.read().dataSync()))
    const unchanged = after.filter((w, i) => w.every((x, k) => x === before[i]![k])).length
    const changed = after.length - unchanged
    expect(unchanged).toBeGreaterThan(0)
    expect(changed).toBeGreaterThan(0)
    model.dispose()
  }, 60_000)

  it('ends a diverging run as failed, stops at maxSteps and on the signal, and reports progress', async () => {
    const model = small(3)
    const failed = await train(model, digits.train, { optimizer: 'sgd', lr: 1e6, divergenceLoss: 100 })
    expect(failed.status).toBe('failed')
    expect(failed.reason).toMatch(/diverged at step \d+/)
    const seen: number[] = []
    const budget = await train(
      small(3),
      digits.train,
      { maxSteps: 4 },
      { onProgress: (p) => seen.push(p.step) },
    )
    expect(budget).toMatchObject({ status: 'budget', steps: 4 })
    expect(seen).toEqual([1, 2, 3, 4])
    const ac = new AbortController()
    ac.abort()
    expect(await train(small(3), digits.train, {}, { signal: ac.signal })).toMatchObject({
      status: 'aborted',
      steps: 0,
    })
    model.dispose()
  }, 60_000)

  it('bad input is one NasError', async () => {
    const model = small()
    await expect(train(model, digits.train, { optimizer: 'rmsprop' } as never)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    })
    const wrong: Dataset = { ...digits.train, shape: [64] }
    await expect(train(model, wrong)).rejects.toBeInstanceOf(NasError)
    await expect(train(model, wrong)).rejects.toMatchObject({ code: 'INPUT_INVALID' })
    model.dispose()
  })
})

describe('checkpoints: a run resumed from its state ends as an uninterrupted one', () => {
  const weightsOf = (m: ReturnType<typeof small>) => m.getWeights().map((w) => Array.from(w.dataSync()))

  it('1 epoch + resume to 3 (schedule over a 3-epoch horizon) = 3 epochs straight, for sgd and adam', async () => {
    const sub = {
      ...digits.train,
      x: digits.train.x.subarray(0, 300 * 64),
      y: digits.train.y.subarray(0, 300),
    }
    for (const optimizer of ['sgd', 'adam'] as const) {
      const config = { optimizer, lr: 0.02, batchSize: 50, seed: 3 }
      const straight = small(1)
      await train(straight, sub, { ...config, epochs: 3 })
      const a = small(1)
      let state: import('./train.js').TrainState | undefined
      const first = await train(
        a,
        sub,
        { ...config, epochs: 1, horizonEpochs: 3 },
        { onEpochEnd: (s) => void (state = s) },
      )
      expect(first).toMatchObject({ status: 'complete', epochs: 1, startEpoch: 0 })
      expect(state).toMatchObject({ epochs: 1, step: 6, seed: 3, optimizer })
      a.dispose()
      const b = small(99) // other initial weights: the state replaces them
      const rest = await expectNoLeaks(() => train(b, sub, { ...config, epochs: 3 }, { resume: state! }))
      expect(rest).toMatchObject({ status: 'complete', epochs: 3, startEpoch: 1, steps: 18 })
      expect(weightsOf(b)).toEqual(weightsOf(straight))
      straight.dispose()
      b.dispose()
    }
  })

  it('a state of another seed, optimizer or network is one CONFIG_INVALID', async () => {
    const sub = {
      ...digits.train,
      x: digits.train.x.subarray(0, 100 * 64),
      y: digits.train.y.subarray(0, 100),
    }
    const m = small(1)
    let state: import('./train.js').TrainState | undefined
    await train(m, sub, { epochs: 1, seed: 1 }, { onEpochEnd: (s) => void (state = s) })
    const code = async (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: unknown) => (e instanceof NasError ? e.code : String(e)),
      )
    expect(await code(train(m, sub, { epochs: 2, seed: 2 }, { resume: state! }))).toBe('CONFIG_INVALID')
    expect(await code(train(m, sub, { epochs: 2, seed: 1, optimizer: 'adam' }, { resume: state! }))).toBe(
      'CONFIG_INVALID',
    )
    const other = buildModel(nb201, CELL, { channels: 4, cellsPerStage: 1, inputShape: [8, 8, 1] })
    expect(await code(train(other, sub, { epochs: 2, seed: 1 }, { resume: state! }))).toBe('CONFIG_INVALID')
    m.dispose()
    other.dispose()
  })
})
