import { NasError } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import {
  checkBatch,
  classesOf,
  crossEntropy,
  exampleShape,
  inputJacobian,
  inputsOf,
  lossGradientSums,
  passSplits,
  splitBatch,
  sumOf,
  withWeightsRestoredSync,
} from './common.js'
import { countSuiteFlops, countTrainableParams } from './cost.js'
import { isPrunable, isRelu, prunableWeights, runGraph } from './graph.js'
import { corrcoef, slogdet, symmetricEigenvalues } from './linalg.js'
import type { ProxyBatch, ProxyDefinition } from './types.js'

const ABDELFATTAH =
  'Abdelfattah et al. 2021, "Zero-Cost Proxies for Lightweight NAS" (ICLR); code: SamsungLabs/zero-cost-nas'
const SUITE =
  'Krishnakumar et al. 2022, "NAS-Bench-Suite-Zero" (NeurIPS Datasets and Benchmarks); code: automl/NASLib'

/** SynFlow's score is huge; like the suite, report its natural logarithm (with its sign). */
const signedLog = (v: number) => (v === 0 ? 0 : v > 0 ? Math.log(v) : -Math.log(-v))

/**
 * `params`: trainable parameters in millions (the NB201 tables' unit).
 * @since 0.1.0
 * @category proxies
 */
export const params: ProxyDefinition = {
  name: 'params',
  description: 'trainable parameters, in millions',
  needs: 'data-free',
  gradients: false,
  higherIsBetter: true,
  references: [SUITE],
  score: (model) => countTrainableParams(model) / 1e6,
}

/**
 * `flops`: FLOPs of one example in millions, counted as NAS-Bench-Suite-Zero counts them (see
 * {@link countSuiteFlops}: BatchNorm, ReLU and pooling included), so that computed and published
 * scores are one quantity. The multiply-accumulates a model costs are {@link countFlops}.
 * @since 0.1.0
 * @category proxies
 */
export const flops: ProxyDefinition = {
  name: 'flops',
  description: 'FLOPs of one example (convolutions, BatchNorm, ReLU, pooling), in millions',
  needs: 'data-free',
  gradients: false,
  higherIsBetter: true,
  references: [SUITE],
  score: (model) => countSuiteFlops(model) / 1e6,
}

/**
 * `l2_norm`: the sum over convolution and linear layers of the L2 norm of the layer's kernel at
 * initialisation.
 * @since 0.1.0
 * @category proxies
 */
export const l2Norm: ProxyDefinition = {
  name: 'l2_norm',
  description: 'sum of the L2 norms of the convolution and linear kernels',
  needs: 'data-free',
  gradients: false,
  higherIsBetter: true,
  references: [SUITE],
  score: (model) => tf.tidy(() => sumOf(prunableWeights(model).map(({ variable }) => tf.norm(variable)))),
}

/**
 * `grad_norm`: the sum over layers of the L2 norm of the gradient of the cross-entropy loss with
 * respect to the kernel (Abdelfattah et al.).
 * @since 0.1.0
 * @category proxies
 */
export const gradNorm: ProxyDefinition = {
  name: 'grad_norm',
  description: 'sum of the L2 norms of the loss gradients of the kernels',
  needs: 'labels',
  gradients: true,
  higherIsBetter: true,
  references: [ABDELFATTAH],
  score: (model, batch, ctx) =>
    lossGradientSums(model, checkBatch('grad_norm', model, batch, true), ctx).gradNorm,
}

/**
 * `snip`: SNIP's connection sensitivity, the sum of |w * dL/dw| over the kernels (Lee et al. 2019,
 * "SNIP: Single-shot Network Pruning based on Connection Sensitivity", as Abdelfattah et al. sum it).
 * @since 0.1.0
 * @category proxies
 */
export const snip: ProxyDefinition = {
  name: 'snip',
  description: 'SNIP saliency: sum of |weight * loss gradient|',
  needs: 'labels',
  gradients: true,
  higherIsBetter: true,
  references: [
    'Lee et al. 2019, "SNIP: Single-shot Network Pruning based on Connection Sensitivity" (ICLR)',
    ABDELFATTAH,
  ],
  score: (model, batch, ctx) => lossGradientSums(model, checkBatch('snip', model, batch, true), ctx).snip,
}

/**
 * `plain`: the sum of w * dL/dw over the kernels, without absolute values (the first-order Taylor
 * term of the loss; low scores go with high accuracy).
 * @since 0.1.0
 * @category proxies
 */
export const plain: ProxyDefinition = {
  name: 'plain',
  description: 'sum of weight * loss gradient (signed)',
  needs: 'labels',
  gradients: true,
  higherIsBetter: false,
  references: [ABDELFATTAH, SUITE],
  score: (model, batch, ctx) => lossGradientSums(model, checkBatch('plain', model, batch, true), ctx).plain,
}

/**
 * The gradient of the batch's mean loss with respect to the prunable kernels, from its splits (kept
 * tensors); with `masks`, each split's ReLUs follow the given activation patterns.
 */
function splitGradient(
  model: tfl.LayersModel,
  parts: readonly ProxyBatch[],
  n: number,
  weights: readonly tf.Variable[],
  masks?: readonly ReadonlyMap<string, tf.Tensor>[],
): tf.Tensor[] {
  let sum: tf.Tensor[] | undefined
  parts.forEach((part, k) => {
    const next = tf.tidy(() => {
      const { grads } = tf.variableGrads(
        () =>
          crossEntropy(
            runGraph(model, inputsOf(part), {
              batchNorm: 'batch',
              ...(masks === undefined ? {} : { reluMasks: masks[k]! }),
            }).output,
            part.ys!,
          ),
        [...weights],
      )
      const share = part.n / n // each split's mean-loss gradient weighted by its share of the batch
      return weights.map((w, i) => {
        const g = grads[w.name] ?? tf.zerosLike(w) // a kernel on no path to the output
        return tf.keep(sum === undefined ? tf.mul(g, share) : tf.add(sum[i]!, tf.mul(g, share)))
      })
    })
    sum?.forEach((t) => t.dispose())
    sum = next
  })
  return sum!
}

/**
 * `grasp`: GraSP's gradient-signal preservation (Wang et al. 2020, "Picking Winning Tickets Before
 * Training by Preserving Gradient Flow"), as Abdelfattah et al. compute it with temperature 1 and one
 * iteration: g = dL/dw of the cross-entropy, H g the Hessian-gradient product, and the score
 * sum(-w * H g) over the kernels.
 *
 * The reference differentiates twice. TF.js's double backward gave wrong products through stacked
 * convolutions in our checks (a relative error of 0.5 to 1 against finite differences), so H g is the
 * central difference (g(w + e g) - g(w - e g)) / 2e of two more gradient passes, with e g a
 * perturbation of 1e-3 of the weights' norm and every ReLU held to its activation pattern at w (so
 * the difference sees the Hessian autograd sees, which treats a ReLU's second derivative as zero,
 * not the jumps of the gradient where a unit changes sign); a test checks it against the
 * closed-form Hessian of a softmax regression. First-order passes also keep the memory of the other
 * gradient proxies, and split the batch the same way.
 * @since 0.1.0
 * @category proxies
 */
export const grasp: ProxyDefinition = {
  name: 'grasp',
  description: 'GraSP: sum of -weight * (Hessian-gradient product)',
  needs: 'labels',
  gradients: true,
  higherIsBetter: true,
  references: [
    'Wang et al. 2020, "Picking Winning Tickets Before Training by Preserving Gradient Flow" (ICLR)',
    ABDELFATTAH,
  ],
  score: (model, batch) =>
    graspPerLayer(model, checkBatch('grasp', model, batch, true)).reduce((t, v) => t + v, 0),
}

/**
 * Step of GraSP's central differences, relative to the weights' norm: e = GRASP_STEP |w| / |g|.
 * Checked against PyTorch's double backward on twelve full NB201 networks
 * (bench/grasp_reference.py): at 1e-4 two of them were 9 and 32 % off (the gradient bends quickly
 * along g), at 3e-5 every term is within 5 % of the largest term of its network and most within
 * 1 %; far below, float32 rounding of the moved weights takes over.
 */
const GRASP_STEP = 3e-5

/**
 * GraSP's terms per prunable weight tensor, in the order of `prunableWeights(model)`: sum of
 * -w * (H g) over each kernel (the `grasp` proxy is their sum). A label-free batch is refused as
 * `grasp` refuses it. `splits` sets how many passes the batch is split into (by default as few as
 * memory allows: about 1.5 GB of activations per pass).
 * @since 0.2.0
 * @category proxies
 */
export function graspPerLayer(
  model: tfl.LayersModel,
  batch: ProxyBatch,
  options: { splits?: number } = {},
): number[] {
  const b = checkBatch('grasp', model, batch, true)
  if (
    options.splits !== undefined &&
    !(Number.isInteger(options.splits) && options.splits >= 1 && options.splits <= b.n)
  ) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `graspPerLayer: splits must be an integer from 1 to the batch size ${b.n}, got ${options.splits}`,
      value: options.splits,
      allowed: [`1..${b.n}`],
    })
  }
  const weights = prunableWeights(model).map((w) => w.variable)
  const parts = options.splits === undefined ? passSplits(model, b) : splitBatch(b, options.splits)
  // the ReLU activation patterns at the current weights, per split
  const masks = parts.map((part) => {
    const kept = new Map<string, tf.Tensor>()
    tf.tidy(() => {
      for (const t of runGraph(model, inputsOf(part), { batchNorm: 'batch', tap: isRelu }).taps) {
        kept.set(t.layer.name, tf.keep(tf.cast(tf.greater(t.value, 0), 'float32')))
      }
    })
    return kept
  })
  const w0 = weights.map((w) => tf.keep(w.clone()))
  const g = splitGradient(model, parts, b.n, weights, masks)
  try {
    const norm = (ts: readonly tf.Tensor[]) =>
      Math.sqrt(tf.tidy(() => sumOf(ts.map((t) => tf.sum(tf.square(t))))))
    const gNorm = norm(g)
    if (!(gNorm > 0)) return weights.map(() => 0)
    const e = (GRASP_STEP * norm(w0)) / gNorm
    // gradients at w0 + k e g, minus those at w0 - k e g
    const difference = (k: number) => {
      const at = (sign: number) => {
        weights.forEach((w, i) => {
          const moved = tf.tidy(() => tf.add(w0[i]!, tf.mul(g[i]!, sign * k * e)))
          w.assign(moved)
          moved.dispose()
        })
        return splitGradient(model, parts, b.n, weights, masks)
      }
      const plus = at(1)
      const minus = at(-1)
      const d = plus.map((t, i) => tf.tidy(() => tf.sub(t, minus[i]!)))
      tf.dispose([plus, minus])
      return d
    }
    const near = difference(1)
    const far = difference(2)
    // fourth-order central difference: H g = (8 d(e) - d(2e)) / 12e + O(e^4)
    const terms = weights.map((_, i) =>
      tf.tidy(
        () =>
          tf.sum(tf.neg(tf.mul(w0[i]!, tf.div(tf.sub(tf.mul(near[i]!, 8), far[i]!), 12 * e)))).dataSync()[0]!,
      ),
    )
    tf.dispose([near, far])
    return terms
  } finally {
    weights.forEach((w, i) => w.assign(w0[i]!))
    tf.dispose([w0, g])
    for (const m of masks) tf.dispose([...m.values()])
  }
}

/** Weights feeding one output channel of a layer (PyTorch's `weight.shape[1:]`). */
function channelFanIn(layer: tfl.layers.Layer): number {
  const kernels = layer.trainableWeights.filter((w) => /kernel$/.test(w.originalName))
  const last = kernels[kernels.length - 1] // a separable convolution: its pointwise kernel
  if (!last) return 1
  const shape = last.shape.map((d) => d ?? 1)
  const cls = layer.getClassName()
  if (cls === 'DepthwiseConv2D' || cls === 'NasDilatedDepthwiseConv2d') return shape[0]! * shape[1]!
  return shape.slice(0, -1).reduce((p, d) => p * d, 1)
}

/**
 * `fisher`: the Fisher information of the activations (Turner et al. 2020, "BlockSwap"; Theis et
 * al. 2018), as Abdelfattah et al. and the suite compute it: for the output a of every convolution
 * and linear layer (before its BatchNorm) and the loss gradient dL/da, per channel 0.5 * mean over the
 * batch of (sum over positions of a * dL/da)^2, weighted by the channel's fan-in (the reference
 * spreads each channel's value over the weights that feed it before summing), summed.
 * @since 0.1.0
 * @category proxies
 */
export const fisher: ProxyDefinition = {
  name: 'fisher',
  description: 'Fisher information of the activations of convolution and linear layers',
  needs: 'labels',
  gradients: true,
  higherIsBetter: true,
  references: [
    'Turner et al. 2020, "BlockSwap: Fisher-guided Block Substitution for Network Compression on a Budget" (ICLR)',
    ABDELFATTAH,
  ],
  score: (model, batch) => {
    const b = checkBatch('fisher', model, batch, true)
    // per split: activations from one forward, their gradients from zero probes added to the same
    // outputs in a second, differentiated forward of the split's share of the batch's mean loss; the
    // squared channel values summed over the splits, then averaged over the whole batch
    let total = 0
    for (const part of passSplits(model, b)) {
      total += tf.tidy(() => {
        const x = inputsOf(part)
        const taps = runGraph(model, x, { tap: isPrunable }).taps
        const acts = taps.map((t) => t.value)
        const grads = tf.grads((...ps: tf.Tensor[]) => {
          const probes = new Map(taps.map((t, i) => [t.layer.name, ps[i]!]))
          // the split's share of the batch's mean loss, so that dL/da is the full batch's
          return tf.mul<tf.Scalar>(
            crossEntropy(runGraph(model, x, { probes }).output, part.ys!),
            part.n / b.n,
          )
        })(acts.map((a) => tf.zerosLike(a)))
        return sumOf(
          grads.map((g, i) => {
            const a = acts[i]!
            const prod = tf.mul(a, g)
            const perChannel =
              prod.rank > 2
                ? tf.sum(
                    prod,
                    Array.from({ length: prod.rank - 2 }, (_, k) => k + 1),
                  )
                : prod
            // the reference copies each channel's value into every weight of that channel before
            // summing, so a channel counts once per weight feeding it (its fan-in)
            const fanIn = channelFanIn(taps[i]!.layer)
            // 0.5 * mean over the whole batch of the squared channel values
            return tf.mul(tf.sum(tf.mul(tf.sum(tf.square(perChannel), 0), 0.5 / b.n)), fanIn)
          }),
        )
      })
    }
    return total
  },
}

/**
 * `jacov`: Jacobian covariance (Mellor et al. 2020, first NASWOT version, as Abdelfattah et al.
 * compute it): the Jacobians J of the summed outputs with respect to each input of the batch, their
 * correlation matrix with eigenvalues v, and -sum(log(v + k) + 1 / (v + k)) with k = 1e-5.
 * @since 0.1.0
 * @category proxies
 */
export const jacov: ProxyDefinition = {
  name: 'jacov',
  description: 'Jacobian covariance: eigenvalues of the correlation of the input Jacobians',
  needs: 'data',
  gradients: true,
  higherIsBetter: true,
  references: ['Mellor et al. 2020, "Neural Architecture Search without Training" (arXiv v1)', ABDELFATTAH],
  score: (model, batch, ctx) => {
    const b = checkBatch('jacov', model, batch, false)
    const jac = inputJacobian(model, b, ctx)
    const cols = jac.length / b.n
    const corr = corrcoef(jac, b.n, cols)
    if (corr.some((v) => !Number.isFinite(v))) return Number.NaN
    const k = 1e-5
    let s = 0
    for (const v of symmetricEigenvalues(corr, b.n)) s += Math.log(v + k) + 1 / (v + k)
    return -s
  },
}

/**
 * `nwot`: NASWOT (Mellor et al. 2021, "Neural Architecture Search without Training"): the binary
 * codes of every ReLU's inputs (positive or not) for each example, the kernel K[i][j] = number of
 * units on which examples i and j agree, and log|det K|.
 * @since 0.1.0
 * @category proxies
 */
export const nwot: ProxyDefinition = {
  name: 'nwot',
  description: 'NASWOT: log-determinant of the Hamming-agreement kernel of ReLU activation codes',
  needs: 'data',
  gradients: false,
  higherIsBetter: true,
  references: [
    'Mellor et al. 2021, "Neural Architecture Search without Training" (ICML); code: BayesWatch/nas-without-training',
  ],
  score: (model, batch) => {
    const b = checkBatch('nwot', model, batch, false)
    const n = b.n
    const k = tf.tidy(() => {
      const x = inputsOf(b)
      const taps = runGraph(model, x, { batchNorm: 'batch', tap: isRelu }).taps
      let kk = tf.zeros([n, n])
      for (const { value } of taps) {
        // ReLU outputs are positive exactly where its inputs are
        const c = tf.cast(tf.greater(tf.reshape(value, [n, -1]), 0), 'float32')
        const nc = tf.sub(1, c)
        kk = tf.add(kk, tf.add(tf.matMul(c, c, false, true), tf.matMul(nc, nc, false, true)))
      }
      return kk.dataSync()
    })
    return slogdet(Float64Array.from(k), n)[1]
  },
}

/**
 * Layers through which, with all-positive weights and BatchNorm left out, the network is linear in
 * its input on non-negative inputs (a ReLU is then the identity), so SynFlow can rescale the input.
 */
const POSITIVELY_LINEAR = new Set([
  'InputLayer',
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'NasDilatedDepthwiseConv2d',
  'Dense',
  'BatchNormalization',
  'ReLU',
  'AveragePooling2D',
  'MaxPooling2D',
  'GlobalAveragePooling2D',
  'ZeroPadding2D',
  'Add',
  'Concatenate',
  'Flatten',
  'Cropping2D',
  'NasZero',
  'NasKeepFirst',
  'NasDropPath',
])

/**
 * `synflow`: SynFlow (Tanaka et al. 2020, "Pruning neural networks without any data by iteratively
 * conserving synaptic flow"), as the suite computes it: every parameter replaced by its absolute
 * value, BatchNorm left out, an input of ones (one example), R = the sum of the outputs, and the
 * score sum |w * dR/dw| over the kernels, reported as its natural logarithm. The weights are put
 * back afterwards.
 *
 * The suite works in float64; its scores reach e^115, beyond float32. Where the network is linear in
 * its input under these conditions (convolutions, ReLU, pooling, additions: NB201, NB101, DARTS), the
 * input is scaled by c and the gradient by s, both chosen from a first forward pass so that
 * activations and gradients stay within float32; the score scales by exactly c * s, and
 * log(score) - log c - log s is returned. Other networks are scored at c = s = 1, and an overflow
 * gives NaN.
 * @since 0.1.0
 * @category proxies
 */
export const synflow: ProxyDefinition = {
  name: 'synflow',
  description: 'SynFlow: synaptic flow of the all-positive network on an input of ones (log)',
  needs: 'data-free',
  gradients: true,
  higherIsBetter: true,
  references: [
    'Tanaka et al. 2020, "Pruning neural networks without any data by iteratively conserving synaptic flow" (NeurIPS)',
    ABDELFATTAH,
  ],
  score: async (model) => {
    const { perLayer, logScale } = await synflowPerLayer(model)
    const raw = perLayer.reduce((t, v) => t + v, 0)
    if (!Number.isFinite(raw)) return Number.NaN
    return raw === 0 ? 0 : signedLog(raw) - logScale
  },
}

/**
 * SynFlow's sum of |w * dR/dw| per prunable kernel (the conditions of {@link synflow}), all scaled by
 * the same factor e^logScale so that float32 holds them: the true sums are `perLayer[l] / e^logScale`.
 * The weights are put back afterwards.
 * @since 0.1.0
 * @category proxies
 */
export function synflowPerLayer(model: tfl.LayersModel): Promise<{ perLayer: number[]; logScale: number }> {
  return new Promise((resolve) => resolve(synflowPerLayerSync(model)))
}

/** {@link synflowPerLayer}, synchronously. @internal */
export function synflowPerLayerSync(model: tfl.LayersModel): { perLayer: number[]; logScale: number } {
  return withWeightsRestoredSync(model, () => {
    for (const w of model.trainableWeights) {
      const abs = tf.tidy(() => tf.abs(w.read()))
      w.write(abs)
      abs.dispose()
    }
    const weights = prunableWeights(model)
    const shape = [1, ...exampleShape(model)]
    const rescale = model.layers.every((l) => POSITIVELY_LINEAR.has(l.getClassName()))
    const outputSum = (logC: number) =>
      tf.tidy(
        () =>
          tf.sum(runGraph(model, tf.fill(shape, Math.exp(logC)), { batchNorm: 'off' }).output).dataSync()[0]!,
      )
    let logC = 0
    let logS = 0
    if (rescale) {
      // log R at input scale 1 (or, if that overflows, at e^-80), then c = s = 1 / sqrt(R)
      let logR = Number.NaN
      for (const at of [0, -80]) {
        const r = outputSum(at)
        if (Number.isFinite(r) && r > 0) {
          logR = Math.log(r) - at
          break
        }
      }
      if (Number.isFinite(logR)) logC = logS = -logR / 2
    }
    const perLayer = tf.tidy(() => {
      const x = tf.fill(shape, Math.exp(logC))
      const { grads } = tf.variableGrads(
        () => tf.mul<tf.Scalar>(tf.sum(runGraph(model, x, { batchNorm: 'off' }).output), Math.exp(logS)),
        weights.map((w) => w.variable),
      )
      return weights.map(({ variable }) => {
        const g = grads[variable.name] // none for a kernel on no path to the output: zero
        return g === undefined ? 0 : tf.sum(tf.abs(tf.mul(variable, g))).dataSync()[0]!
      })
    })
    return { perLayer, logScale: logC + logS }
  })
}

export { classesOf }
