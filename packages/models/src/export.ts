import { NasError } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import type * as tfl from '@tensorflow/tfjs-layers'

/** A layer of a Keras-format topology (`model.json`'s `modelTopology.config.layers`). */
interface LayerJson {
  class_name: string
  name?: string
  config: Record<string, unknown> & { name: string }
  /** `[[[layer, nodeIndex, tensorIndex, kwargs], ...], ...]`: one entry per call of the layer. */
  inbound_nodes: unknown[][][]
}

interface TopologyJson {
  class_name: string
  config: {
    name: string
    layers: LayerJson[]
    input_layers: unknown[][]
    output_layers: [string, number, number][]
  }
  keras_version?: string
  backend?: string
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 }

/**
 * The artifacts of `model` rewritten for deployment, so that plain `@tensorflow/tfjs` loads them
 * without nasjs: the `none` operation ({@link Zero}) becomes a standard `Rescaling` layer with scale
 * 0; a {@link KeepFirst} becomes a linear `Activation` of its first input, and the nodes it only kept
 * alive (cell nodes no operation carries on) are dropped with their weights, since they cannot change
 * an output; drop-path ({@link DropPath}, identity at inference) becomes a linear `Activation`; a
 * {@link DilatedDepthwiseConv2d} becomes `ZeroPadding2D` plus a standard `DepthwiseConv2D` whose
 * kernel is the dilated one written out with its zeros. Outputs equal the model's; weights and
 * topology are otherwise untouched. A nasjs layer with no standard equivalent (the attention and
 * embedding layers of `vit` and `transformer`) is a `NOT_REGISTERED` error, unless
 * `options.nasjsLayers` is `'keep'`: it then stays as it is, and loading needs `@nasjs/models`
 * imported (which registers its layers with `tf.serialization`).
 * @since 0.1.0
 * @category models
 */
export async function exportArtifacts(
  model: tfl.LayersModel,
  options: { readonly nasjsLayers?: 'refuse' | 'keep' } = {},
): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined
  await model.save(
    tf.io.withSaveHandler((a) => {
      saved = a
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })
    }),
  )
  const a = saved!
  const topology = structuredClone(a.modelTopology) as TopologyJson
  const spread = new Map<string, { k: number; d: number }>()
  const added: LayerJson[] = []
  const layers = topology.config.layers
  for (const l of [...layers]) {
    if (l.class_name === 'NasZero') {
      l.class_name = 'Rescaling'
      l.config = { name: l.config.name, trainable: false, dtype: 'float32', scale: 0, offset: 0 }
    } else if (l.class_name === 'NasKeepFirst') {
      l.class_name = 'Activation'
      l.config = { name: l.config.name, trainable: false, dtype: 'float32', activation: 'linear' }
      l.inbound_nodes = l.inbound_nodes.map((node) => node.slice(0, 1))
    } else if (l.class_name === 'NasDropPath') {
      // identity at inference
      l.class_name = 'Activation'
      l.config = { name: l.config.name, trainable: false, dtype: 'float32', activation: 'linear' }
    } else if (l.class_name === 'NasDilatedDepthwiseConv2d') {
      // explicit padding, then a standard depthwise convolution with the dilated (zero-filled) kernel
      // saved configs are in Python's snake case
      const c = l.config as unknown as Record<string, number> & { name: string }
      const [name, kernelSize, dilation, strides, padding] = [
        c.name,
        c['kernel_size']!,
        c['dilation']!,
        c['strides'] ?? 1,
        c['padding'] ?? 0,
      ]
      const span = dilation * (kernelSize - 1) + 1
      spread.set(name, { k: kernelSize, d: dilation })
      const padName = `${name}_pad`
      added.push({
        name: padName,
        class_name: 'ZeroPadding2D',
        config: {
          name: padName,
          trainable: false,
          dtype: 'float32',
          padding: [
            [padding, padding],
            [padding, padding],
          ],
          data_format: 'channels_last',
        },
        inbound_nodes: l.inbound_nodes,
      })
      l.class_name = 'DepthwiseConv2D'
      l.config = {
        name,
        trainable: true,
        dtype: 'float32',
        kernel_size: [span, span],
        strides: [strides, strides],
        padding: 'valid',
        data_format: 'channels_last',
        dilation_rate: [1, 1],
        activation: 'linear',
        use_bias: false,
        depth_multiplier: 1,
      }
      l.inbound_nodes = l.inbound_nodes.map(() => [[padName, 0, 0, {}]])
    } else if (l.class_name.startsWith('Nas') && options.nasjsLayers !== 'keep') {
      throw new NasError({
        code: 'NOT_REGISTERED',
        message: `layer '${l.config.name}' is a nasjs layer (${l.class_name}) with no standard TF.js equivalent; the model cannot be exported for plain @tensorflow/tfjs (save it with nasjsLayers: 'keep' and load it with @nasjs/models imported)`,
        value: l.class_name,
      })
    }
  }
  // each padding layer goes just before its convolution (a topology lists a layer after its inputs)
  for (const pad of added) {
    const at = layers.findIndex((l) => `${l.config.name}_pad` === pad.config.name)
    layers.splice(at, 0, pad)
  }
  // keep the layers an output depends on
  const byName = new Map(layers.map((l) => [l.config.name, l]))
  const keep = new Set<string>()
  const stack = topology.config.output_layers.map((o) => o[0])
  while (stack.length > 0) {
    const name = stack.pop()!
    if (keep.has(name)) continue
    keep.add(name)
    for (const node of byName.get(name)?.inbound_nodes ?? [])
      for (const inbound of node) stack.push((inbound as [string])[0])
  }
  topology.config.layers = layers.filter((l) => keep.has(l.config.name))
  // weights are named <layer>/<weight>; keep the kept layers' bytes, in order
  const specs = a.weightSpecs ?? []
  const data = new Uint8Array(
    a.weightData instanceof ArrayBuffer ? a.weightData : tf.io.concatenateArrayBuffers(a.weightData!),
  )
  const keptSpecs: tf.io.WeightsManifestEntry[] = []
  const chunks: Uint8Array[] = []
  let offset = 0
  for (const s of specs) {
    const size = s.shape.reduce((p, d) => p * d, 1) * (BYTES[s.dtype] ?? 4)
    const layer = s.name.split('/')[0]!
    const dilated = spread.get(layer)
    if (dilated !== undefined && s.dtype === 'float32') {
      const [k, , c] = s.shape as [number, number, number, number]
      const span = dilated.d * (k - 1) + 1
      const from = new Float32Array(data.slice(offset, offset + size).buffer)
      const to = new Float32Array(span * span * c)
      // tap (i, j) moves to (d i, d j) of the spread kernel; layout [h, w, channel, 1]
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++)
          for (let ch = 0; ch < c; ch++)
            to[(i * dilated.d * span + j * dilated.d) * c + ch] = from[(i * k + j) * c + ch]!
      keptSpecs.push({ ...s, shape: [span, span, c, 1] })
      chunks.push(new Uint8Array(to.buffer))
    } else if (keep.has(layer)) {
      keptSpecs.push(s)
      chunks.push(data.subarray(offset, offset + size))
    }
    offset += size
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return {
    modelTopology: topology as unknown as object,
    format: 'layers-model',
    generatedBy: a.generatedBy ?? 'nasjs',
    convertedBy: null,
    weightSpecs: keptSpecs,
    weightData: out.buffer,
  }
}

/**
 * The `model.json` of exported artifacts whose weights are written to `weightsFile` (one file), as
 * `tf.loadLayersModel` reads it over HTTP or from disk.
 * @since 0.1.0
 * @category models
 */
export function modelJson(artifacts: tf.io.ModelArtifacts, weightsFile = 'weights.bin'): string {
  return JSON.stringify({
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
  })
}
