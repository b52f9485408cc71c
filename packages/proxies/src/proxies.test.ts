import { initBackend } from '@nasjs/backend'
import { Rng, isNasError } from '@nasjs/core'
import { buildModel } from '@nasjs/models'
import { nb201 } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { beforeAll, describe, expect, it } from 'vitest'
import { createProxyRegistry, PROXY_NAMES } from './registry.js'
import { randomBatch, scoreProxies } from './score.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const tiny = (arch = nb201.sample(new Rng(3)), seed = 1) =>
  buildModel(nb201, arch, { channels: 4, cellsPerStage: 1, inputShape: [8, 8, 3], seed })

describe('the built-in proxies', () => {
  it('are the thirteen of the issue, by the suite names', () => {
    expect([...PROXY_NAMES].sort()).toEqual(
      [
        'epe_nas',
        'fisher',
        'flops',
        'grad_norm',
        'grasp',
        'jacov',
        'l2_norm',
        'nwot',
        'params',
        'plain',
        'snip',
        'synflow',
        'zen',
      ].sort(),
    )
  })

  it('score a network with finite numbers, the same twice, leaving its weights as they were and no tensor behind', async () => {
    const model = tiny()
    const batch = randomBatch([8, 8, 3], 16, 10, new Rng(5))
    const weights = model.getWeights().map((w) => w.dataSync().slice())
    const before = tf.memory().numTensors
    const all = createProxyRegistry().parseList('all')
    const a = await scoreProxies(model, all, batch, new Rng(9))
    const b = await scoreProxies(model, all, batch, new Rng(9))
    expect(tf.memory().numTensors).toBe(before)
    expect(model.getWeights().map((w) => w.dataSync().slice())).toEqual(weights)
    for (const s of a) expect(Number.isFinite(s.score), s.proxy).toBe(true)
    expect(b.map((s) => s.score)).toEqual(a.map((s) => s.score))
    model.dispose()
  })

  it('refuse a label-free batch when they need labels, and a missing batch when they need data', async () => {
    const model = tiny()
    const { ys: _ys, ...unlabelled } = randomBatch([8, 8, 3], 8, 10, new Rng(5))
    const registry = createProxyRegistry()
    const attempt = async (f: () => number | Promise<number>) => {
      try {
        return await f()
      } catch (err) {
        return err
      }
    }
    const all = registry.parseList('all')
    // without labels: every proxy that needs them refuses, the others score
    const noLabels = await Promise.all(
      all.map((p) => attempt(() => p.score(model, unlabelled, { rng: new Rng(1) }))),
    )
    expect(
      all
        .filter((p, i) => isNasError(noLabels[i]) && /needs labels/.test((noLabels[i] as Error).message))
        .map((p) => p.name),
    ).toEqual(all.filter((p) => p.needs === 'labels').map((p) => p.name))
    expect(
      all
        .filter((p, i) => p.needs !== 'labels' && !Number.isFinite(noLabels[i] as number))
        .map((p) => p.name),
    ).toEqual([])
    // without a batch: every proxy that needs data refuses, the data-free ones score
    const noBatch = await Promise.all(
      all.map((p) => attempt(() => p.score(model, undefined, { rng: new Rng(1) }))),
    )
    expect(
      all
        .filter((p, i) => isNasError(noBatch[i]) && (noBatch[i] as { code: string }).code === 'INPUT_INVALID')
        .map((p) => p.name),
    ).toEqual(all.filter((p) => p.needs !== 'data-free').map((p) => p.name))
    expect(
      all
        .filter((p, i) => p.needs === 'data-free' && !Number.isFinite(noBatch[i] as number))
        .map((p) => p.name),
    ).toEqual([])
    const wrong = randomBatch([16, 16, 3], 8, 10, new Rng(5))
    const e = await attempt(() => registry.get('snip').score(model, wrong, { rng: new Rng(1) }))
    expect(isNasError(e) && /\[16, 16, 3\]/.test(e.message)).toBe(true)
    const bad = {
      ...randomBatch([8, 8, 3], 8, 10, new Rng(5)),
      ys: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 12]),
    }
    const e2 = await attempt(() => registry.get('fisher').score(model, bad, { rng: new Rng(1) }))
    expect(isNasError(e2) && e2.value === 12).toBe(true)
    model.dispose()
  })

  it('an unknown proxy name is one NasError listing the known ones', () => {
    const e = (() => {
      try {
        createProxyRegistry().parseList('synflow,snipp')
      } catch (err) {
        return err
      }
    })()
    expect(isNasError(e) && e.code === 'NOT_REGISTERED' && (e.allowed ?? []).includes('snip')).toBe(true)
  })
})

/** A two-layer dense network with no BatchNorm, where the proxies have closed forms. */
function mlp(): tfl.LayersModel {
  const input = tfl.input({ shape: [3] })
  const h = tfl.layers
    .dense({ units: 4, useBias: false, kernelInitializer: tfl.initializers.glorotNormal({ seed: 1 }) })
    .apply(input)
  const r = tfl.layers.reLU().apply(h)
  const out = tfl.layers
    .dense({ units: 2, useBias: false, kernelInitializer: tfl.initializers.glorotNormal({ seed: 2 }) })
    .apply(r)
  return tfl.model({ inputs: input, outputs: out as tfl.SymbolicTensor })
}

describe('closed forms on a small dense network', () => {
  const xs = Float32Array.from([1, -2, 0.5, 0.3, 0.1, -1, -0.7, 2, 1.5, 0.2, 0.4, -0.3])
  const batch = { n: 4, shape: [3], xs, ys: Int32Array.from([0, 1, 1, 0]) }
  const registry = createProxyRegistry()

  it('snip, plain and grad_norm are sums of |w g|, w g and |g| per layer of the cross-entropy gradient', async () => {
    const model = mlp()
    const [w1, w2] = model.getWeights() as [tf.Tensor2D, tf.Tensor2D]
    const { grads } = tf.variableGrads(
      () => {
        const x = tf.tensor2d(xs, [4, 3])
        const logits = tf.matMul(tf.relu(tf.matMul(x, w1)), w2)
        return tf.losses.softmaxCrossEntropy<tf.Tensor, tf.Scalar>(
          tf.oneHot(tf.tensor1d(batch.ys, 'int32'), 2),
          logits,
        )
      },
      model.trainableWeights.map((w) => w.read() as tf.Variable),
    )
    const [g1, g2] = model.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name]!)
    const sum = (t: tf.Tensor) => tf.sum(t).dataSync()[0]!
    const snip = sum(tf.abs(tf.mul(w1, g1!))) + sum(tf.abs(tf.mul(w2, g2!)))
    const plain = sum(tf.mul(w1, g1!)) + sum(tf.mul(w2, g2!))
    const gn = tf.norm(g1!).dataSync()[0]! + tf.norm(g2!).dataSync()[0]!
    const rng = { rng: new Rng(1) }
    expect(await registry.get('snip').score(model, batch, rng)).toBeCloseTo(snip, 5)
    expect(await registry.get('plain').score(model, batch, rng)).toBeCloseTo(plain, 5)
    expect(await registry.get('grad_norm').score(model, batch, rng)).toBeCloseTo(gn, 5)
  })

  it('nwot is log det of the agreement kernel of the ReLU codes', async () => {
    const model = mlp()
    const h = tf.matMul(tf.tensor2d(xs, [4, 3]), model.getWeights()[0]!).arraySync() as number[][]
    const codes = h.map((row) => row.map((v): number => (v > 0 ? 1 : 0)))
    const k = codes.map((a) => codes.map((b) => a.reduce((s, v, i) => s + (v === b[i] ? 1 : 0), 0)))
    // determinant of a 4x4 by cofactor expansion
    const det = (m: number[][]): number =>
      m.length === 1
        ? m[0]![0]!
        : m[0]!.reduce(
            (s, v, j) => s + (j % 2 ? -1 : 1) * v * det(m.slice(1).map((r) => r.filter((_, c) => c !== j))),
            0,
          )
    const d = det(k)
    expect(d).not.toBe(0) // this batch gives a non-singular kernel
    const score = await registry.get('nwot').score(model, batch, { rng: new Rng(1) })
    expect(score).toBeCloseTo(Math.log(Math.abs(d)), 10)
  })

  it('synflow is the log of sum |w dR/dw| of the all-positive network on ones, 2 log R for two bias-free layers', async () => {
    const model = mlp()
    // R = 1^T |W1| |W2| 1 is linear in each layer, so each layer's sum of w dR/dw is R
    const [w1, w2] = model.getWeights().map((w) => tf.abs(w)) as [tf.Tensor2D, tf.Tensor2D]
    const r = tf.sum(tf.matMul(tf.matMul(tf.ones([1, 3]), w1), w2)).dataSync()[0]!
    expect(await registry.get('synflow').score(model, undefined, { rng: new Rng(1) })).toBeCloseTo(
      Math.log(2 * r),
      5,
    )
  })
})
