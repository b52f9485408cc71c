import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import { checkBatch, exampleShape, inputJacobian, withWeightsRestored } from './common.js'
import { runGraph } from './graph.js'
import { corrcoef } from './linalg.js'
import type { ProxyDefinition } from './types.js'

/** The layer whose output global average pooling reduces: the features Zen-NAS measures. */
function preGapLayer(model: tfl.LayersModel): tfl.layers.Layer | undefined {
  return model.layers.find((l) => l.getClassName() === 'GlobalAveragePooling2D')?.inboundNodes[0]
    ?.inboundLayers[0]
}

/**
 * `zen`: the Zen-score (Lin et al. 2021, "Zen-NAS: A Zero-Shot NAS for High-Performance Image
 * Recognition"), as the suite computes it: convolution and linear kernels re-drawn from N(0, 1)
 * (biases 0, BatchNorm scale 1 and shift 0), two Gaussian inputs x and x + 0.01 e, the mean over
 * the batch of sum |f(x) - f(x + 0.01 e)| of the features before global average pooling (BatchNorm
 * on batch statistics), and log of it plus, for every BatchNorm layer, log sqrt(mean of its moving
 * variance) after those two forward passes (PyTorch's momentum 0.1 and unbiased variance). The
 * weights are put back afterwards.
 * @since 0.1.0
 * @category proxies
 */
export const zen: ProxyDefinition = {
  name: 'zen',
  description:
    'Zen-score: log expected Gaussian complexity of the pre-pooling features plus BatchNorm scaling',
  needs: 'data-free',
  gradients: false,
  higherIsBetter: true,
  references: [
    'Lin et al. 2021, "Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition" (ICCV); code: idstcv/ZenNAS',
  ],
  score: (model, batch, { rng }) =>
    withWeightsRestored(model, () => {
      const n = batch?.n ?? 64
      const shape = exampleShape(model)
      const feature = preGapLayer(model)
      for (const layer of model.layers) {
        for (const w of layer.weights) {
          const name = w.originalName.split('/').pop()!
          const value = tf.tidy(() => {
            if (/kernel$/.test(name))
              return tf.randomNormal(w.shape as number[], 0, 1, 'float32', rng.int(2 ** 31))
            if (name === 'gamma' || name === 'moving_variance') return tf.ones(w.shape as number[])
            return tf.zeros(w.shape as number[]) // biases, beta, moving mean
          })
          w.write(value)
          value.dispose()
        }
      }
      const bnLayers = model.layers.filter((l) => l.getClassName() === 'BatchNormalization')
      const bnSources = new Set(bnLayers.map((l) => l.inboundNodes[0]!.inboundLayers[0]!))
      return tf.tidy(() => {
        const x1 = tf.randomNormal([n, ...shape], 0, 1, 'float32', rng.int(2 ** 31))
        const x2 = tf.randomNormal([n, ...shape], 0, 1, 'float32', rng.int(2 ** 31))
        const mixed = tf.add(x1, tf.mul(x2, 0.01))
        const tap = (l: tfl.layers.Layer) => l === feature || bnSources.has(l)
        const run = (x: tf.Tensor) => {
          const r = runGraph(model, x, { batchNorm: 'batch', tap })
          const byLayer = new Map(r.taps.map((t) => [t.layer, t.value]))
          return { features: feature ? byLayer.get(feature)! : r.output, byLayer }
        }
        const r1 = run(x1)
        const r2 = run(mixed)
        const axes = Array.from({ length: r1.features.rank - 1 }, (_, i) => i + 1)
        const delta = tf.mean(tf.sum(tf.abs(tf.sub(r1.features, r2.features)), axes)).dataSync()[0]!
        // PyTorch's moving variance after the two training-mode passes, from 1 with momentum 0.1 and
        // the unbiased batch variance: 0.81 + 0.09 var(pass 1) + 0.1 var(pass 2)
        const unbiasedVariance = (x: tf.Tensor) => {
          const count = x.size / x.shape[x.rank - 1]!
          const m = tf.moments(
            x,
            Array.from({ length: x.rank - 1 }, (_, i) => i),
          )
          return tf.mul(m.variance, count / Math.max(1, count - 1))
        }
        let logBn = 0
        for (const layer of bnLayers) {
          const source = layer.inboundNodes[0]!.inboundLayers[0]!
          const a = r1.byLayer.get(source) ?? x1 // only the input layer is not tapped
          const b = r2.byLayer.get(source) ?? mixed
          const v = tf.addN([
            tf.fill([a.shape[a.rank - 1]!], 0.81),
            tf.mul(unbiasedVariance(a), 0.09),
            tf.mul(unbiasedVariance(b), 0.1),
          ])
          logBn += Math.log(Math.sqrt(tf.mean(v).dataSync()[0]!))
        }
        return Math.log(delta) + logBn
      })
    }),
}

/**
 * `epe_nas`: EPE-NAS (Lopes et al. 2021, "EPE-NAS: Efficient Performance Estimation Without Training
 * for Neural Architecture Search"): the Jacobians of the summed outputs with respect to each input,
 * grouped by class; per class the correlation matrix C and s_c = sum(log(|C| + 1e-5)); the score is
 * sum over classes of |s_c| (the rule for at most 100 classes).
 * @since 0.1.0
 * @category proxies
 */
export const epeNas: ProxyDefinition = {
  name: 'epe_nas',
  description: 'EPE-NAS: per-class correlation of the input Jacobians',
  needs: 'labels',
  gradients: true,
  higherIsBetter: true,
  references: [
    'Lopes et al. 2021, "EPE-NAS: Efficient Performance Estimation Without Training for Neural Architecture Search" (ICANN)',
  ],
  score: (model, batch, ctx) => {
    const b = checkBatch('epe_nas', model, batch, true)
    const jac = inputJacobian(model, b, ctx)
    const cols = jac.length / b.n
    const byClass = new Map<number, number[]>()
    b.ys!.forEach((y, i) => byClass.set(y, [...(byClass.get(y) ?? []), i]))
    let score = 0
    for (const rows of byClass.values()) {
      const m = new Float64Array(rows.length * cols)
      rows.forEach((r, i) => m.set(jac.subarray(r * cols, (r + 1) * cols), i * cols))
      const c = corrcoef(m, rows.length, cols)
      let s = 0
      for (const v of c) s += Math.log(Math.abs(v) + 1e-5)
      if (Number.isFinite(s)) score += Math.abs(s)
    }
    return score
  },
}
