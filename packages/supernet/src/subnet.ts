import { NasError } from '@nasjs/core'
import type { Dataset } from '@nasjs/models'
import { batches, buildMbNetwork, evaluateLogits, exportArtifacts } from '@nasjs/models'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'
import type { BnStats, ElasticSupernet } from './base.js'
import { resizeImages } from './elastic.js'

/**
 * The data's examples fit the supernet's input (images with its channels) and its classes, or one
 * clear error (`INPUT_INVALID`). Exported as `checkSupernetData`.
 * @since 0.2.0
 * @category supernet
 */
export function checkData(net: Pick<ElasticSupernet<unknown>, 'config'>, data: Dataset): void {
  const [h, w, ch] = data.shape
  if (data.shape.length !== 3 || ch !== net.config.inputChannels || h === undefined || w === undefined) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the supernet takes images with ${net.config.inputChannels} channel(s); '${data.name}' has examples of shape [${data.shape.join(', ')}]`,
      value: data.shape,
    })
  }
  if (data.classes !== net.config.classes) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the supernet has ${net.config.classes} classes; '${data.name}' has ${data.classes}`,
      value: data.classes,
      allowed: [net.config.classes],
    })
  }
}

/** A batch's images as a tensor at `side` pixels. */
export function imagesAt(xs: Float32Array, n: number, shape: readonly number[], side: number): tf.Tensor4D {
  return tf.tidy(() => resizeImages(tf.tensor4d(xs, [n, shape[0]!, shape[1]!, shape[2]!]), side))
}

/**
 * `data` with every image resized to `side` x `side` (bilinear, as {@link resizeImages}), in batches:
 * the input of a subnet at that resolution, or of its exported model.
 * @since 0.1.0
 * @category supernet
 */
export function resizeDataset(data: Dataset, side: number): Dataset {
  const [h, w, ch] = data.shape as [number, number, number]
  if (h === side && w === side) return data
  const n = data.y.length
  const x = new Float32Array(n * side * side * ch)
  let at = 0
  for (const b of batches(data, { batchSize: 512 })) {
    const out = tf.tidy(() => imagesAt(b.xs, b.n, data.shape, side).dataSync())
    x.set(out, at)
    at += out.length
  }
  return { ...data, shape: [side, side, ch], x }
}

/**
 * Checks the counts a subnet evaluator takes (images, batch sizes): each a whole number >= 1, or one
 * `CONFIG_INVALID` error naming it.
 * @since 0.2.0
 * @category supernet
 */
export function checkCounts(counts: Readonly<Record<string, number>>): void {
  for (const [name, v] of Object.entries(counts)) {
    if (!Number.isInteger(v) || v < 1) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `${name} must be a whole number >= 1, got ${v}`,
        value: v,
      })
    }
  }
}

/**
 * A cache of data splits resized to subnets' resolutions: `at(data, key, side, limit)` is the first
 * `limit` examples of `data` (all by default) at `side` pixels ({@link resizeDataset}), made the
 * first time it is asked for under `key` (the split's name) and that side.
 * @since 0.2.0
 * @category supernet
 */
export function resizedSplits(): (data: Dataset, key: string, side: number, limit?: number) => Dataset {
  const resized = new Map<string, Dataset>()
  return (d, key, side, limit) => {
    const k = `${key}@${side}`
    let r = resized.get(k)
    if (r === undefined) {
      const n = Math.min(limit ?? d.y.length, d.y.length)
      const size = d.shape.reduce((p, s) => p * s, 1)
      const head = n === d.y.length ? d : { ...d, x: d.x.subarray(0, n * size), y: d.y.subarray(0, n) }
      r = resizeDataset(head, side)
      resized.set(k, r)
    }
    return r
  }
}

/**
 * Recalibrates the BatchNorm statistics of subnet `arch` on the first `images` examples of `data`
 * (OFA's `set_running_statistics`): each BatchNorm's mean and variance are averaged over batches,
 * weighted by batch size, with the network normalising by each batch's own statistics as it goes.
 * Returns the subnet's statistics; the supernet is unchanged (use them with `forward({ bn })`,
 * {@link evaluateSubnet} or {@link exportSubnet}).
 * @since 0.1.0
 * @category supernet
 */
export function recalibrate<A>(
  net: ElasticSupernet<A>,
  arch: A,
  data: Dataset,
  options: { readonly images?: number; readonly batchSize?: number } = {},
): BnStats {
  checkData(net, data)
  const limit = Math.min(options.images ?? 500, data.y.length)
  const batchSize = options.batchSize ?? 100
  const sums = new Map<string, { mean: Float64Array; variance: Float64Array; n: number }>()
  const size = data.shape.reduce((p, s) => p * s, 1)
  const head: Dataset = { ...data, x: data.x.subarray(0, limit * size), y: data.y.subarray(0, limit) }
  for (const b of batches(head, { batchSize })) {
    tf.tidy(() => {
      const x = imagesAt(b.xs, b.n, data.shape, net.resolutionOf(arch))
      net.forward(arch, x, {
        training: true,
        dropout: 0,
        onBatchStats: (name, mean, variance) => {
          const m = mean.dataSync()
          const v = variance.dataSync()
          let s = sums.get(name)
          if (s === undefined) {
            s = { mean: new Float64Array(m.length), variance: new Float64Array(m.length), n: 0 }
            sums.set(name, s)
          }
          for (let i = 0; i < m.length; i++) {
            s.mean[i]! += m[i]! * b.n
            s.variance[i]! += v[i]! * b.n
          }
          s.n += b.n
        },
      })
    })
  }
  const out = new Map<string, { mean: Float32Array; variance: Float32Array }>()
  for (const [name, s] of sums) {
    out.set(name, {
      mean: Float32Array.from(s.mean, (v) => v / s.n),
      variance: Float32Array.from(s.variance, (v) => v / s.n),
    })
  }
  return out
}

/**
 * Loss and accuracy of subnet `arch` on `data` (resized to the subnet's resolution), BatchNorm with
 * `bn` (from {@link recalibrate}) or the running statistics; leaks no tensor.
 * @since 0.1.0
 * @category supernet
 */
export function evaluateSubnet<A>(
  net: ElasticSupernet<A>,
  arch: A,
  data: Dataset,
  options: { readonly bn?: BnStats; readonly batchSize?: number; readonly limit?: number } = {},
): { loss: number; acc: number } {
  checkData(net, data)
  const limit = Math.min(options.limit ?? data.y.length, data.y.length)
  const size = data.shape.reduce((p, s) => p * s, 1)
  const head: Dataset = { ...data, x: data.x.subarray(0, limit * size), y: data.y.subarray(0, limit) }
  return evaluateLogits(
    head,
    (x) =>
      net.forward(
        arch,
        resizeImages(x as tf.Tensor4D, net.resolutionOf(arch)),
        options.bn === undefined ? {} : { bn: options.bn },
      ),
    options.batchSize ?? 250,
  )
}

/**
 * Subnet `arch` as a standalone TF.js model (`buildMbNetwork` of `@nasjs/models`: standard layers
 * only) holding the subnet's weights: the slices of the supernet's, each smaller kernel already
 * transformed, and the BatchNorm statistics `bn` (recalibrated) or the running ones. Its outputs
 * equal `net.forward(arch, x, { bn })`. Save it with `model.save(...)` or {@link exportSubnetArtifacts}.
 * @since 0.1.0
 * @category supernet
 */
export function exportSubnet<A>(net: ElasticSupernet<A>, arch: A, bn?: BnStats): tfl.LayersModel {
  const model = buildMbNetwork(net.network(arch), 0)
  const weights = net.subnetWeights(arch, bn)
  try {
    // layer by layer: the model's weight list puts every layer's trainable weights before all the
    // BatchNorm statistics, the subnet's list is in layer order
    let at = 0
    for (const layer of model.layers) {
      const n = layer.weights.length
      if (n === 0) continue
      const part = weights.slice(at, at + n)
      const fits =
        part.length === n && part.every((w, i) => w.shape.join('x') === layer.weights[i]!.shape.join('x'))
      if (!fits) throw new Error(`subnet weights do not fit layer ${layer.name} of the built model`)
      layer.setWeights(part)
      at += n
    }
    if (at !== weights.length) throw new Error('the built model has fewer weights than the subnet')
  } catch (e) {
    model.dispose()
    throw e
  } finally {
    tf.dispose(weights)
  }
  return model
}

/**
 * The artifacts (`model.json` topology and weights) of {@link exportSubnet}'s model, loadable by
 * plain `@tensorflow/tfjs` (`tf.loadLayersModel`) without nasjs.
 * @since 0.1.0
 * @category supernet
 */
export async function exportSubnetArtifacts<A>(
  net: ElasticSupernet<A>,
  arch: A,
  bn?: BnStats,
): Promise<tf.io.ModelArtifacts> {
  const model = exportSubnet(net, arch, bn)
  try {
    return await exportArtifacts(model)
  } finally {
    model.dispose()
  }
}
