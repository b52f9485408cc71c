import { Rng } from '@nasjs/core'
import type { TransformerArch, VitArch } from '@nasjs/search-space'
import { transformer, vit } from '@nasjs/search-space'
import * as tfl from '@tensorflow/tfjs-layers'
import { z } from 'zod'
import { parseConfig } from './config.js'
import type { NasAttentionMode } from './transformer-layers.js'
import { NasFirstToken, NasMultiHeadAttention, NasTokenEmbedding } from './transformer-layers.js'

/** LayerNorm epsilon of every block (ViT's 1e-6; the PyTorch reference uses the same). */
const LN_EPSILON = 1e-6

/**
 * Options of the vision-transformer network of the `vit` space. Each stage's patch size is searched
 * (stage 0's is the ViT patch size; later stages merge patches), so there is no separate patch option.
 * @since 0.1.0
 * @category models
 */
export const VitNetworkOptions = z
  .object({
    inputShape: z
      .tuple([z.number().int().min(1), z.number().int().min(1), z.number().int().min(1)])
      .default([32, 32, 3])
      .describe('height, width, channels (NHWC)'),
    classes: z.number().int().min(2).default(10).describe('outputs of the linear head (logits)'),
    headDim: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        'size of one attention head; default ceil(embedDim / heads) (embedDim / heads when it divides)',
      ),
    seed: z.number().int().default(0).describe('seed of the weight initialisers'),
  })
  .strict()
/** @since 0.1.0 */
export type VitNetworkOptions = z.input<typeof VitNetworkOptions>

/**
 * Options of the text-classification network of the `transformer` space.
 * @since 0.1.0
 * @category models
 */
export const TransformerNetworkOptions = z
  .object({
    vocabSize: z.number().int().min(2).default(1000).describe('token ids are 0..vocabSize-1'),
    sequenceLength: z.number().int().min(1).default(64).describe('tokens per input sequence'),
    classes: z.number().int().min(2).default(2).describe('outputs of the linear head (logits)'),
    pooling: z
      .enum(['mean', 'cls'])
      .default('mean')
      .describe("'mean' of the final tokens, or a prepended class token ('cls')"),
    seed: z.number().int().default(0).describe('seed of the weight initialisers'),
  })
  .strict()
/** @since 0.1.0 */
export type TransformerNetworkOptions = z.input<typeof TransformerNetworkOptions>

/** One pre-norm encoder block. */
interface Block {
  dim: number
  heads: number
  headDim: number
  mode: NasAttentionMode
  kernel: number
  /** the hidden sizes of the MLP (dim -> ff... -> dim, GELU after each hidden layer) */
  ff: number[]
}

/** Parameters and FLOPs of one block over `n` tokens (see {@link vitCost} for the conventions). */
function blockCost(b: Block, n: number): { params: number; flops: number } {
  const { dim: d, heads, headDim, mode, kernel } = b
  const inner = heads * headDim
  let params = 4 * d // the two LayerNorms
  let flops = 0
  const dense = (cin: number, cout: number) => {
    params += cin * cout + cout
    flops += n * (cin * cout + cout)
  }
  dense(d, inner) // value
  if (mode === 'sdp' || mode === 'wma') {
    dense(d, inner) // query
    dense(d, inner) // key
    flops += 2 * n * n * inner // Q K^T and A V
    if (mode === 'wma') {
      params += heads * headDim * headDim
      flops += n * heads * headDim * headDim
    }
  } else if (mode === 'dft' || mode === 'dct') {
    flops += n * n * inner
  } else {
    dense(d, heads * kernel) // the kernel generator
    flops += n * kernel * inner
  }
  dense(inner, d) // output
  let c = d
  for (const f of [...b.ff, d]) {
    dense(c, f)
    c = f
  }
  return { params, flops }
}

function addBlock(x: tfl.SymbolicTensor, b: Block, seed: () => number): tfl.SymbolicTensor {
  const ln = () => tfl.layers.layerNormalization({ epsilon: LN_EPSILON })
  const att = new NasMultiHeadAttention({
    heads: b.heads,
    headDim: b.headDim,
    mode: b.mode,
    kernel: b.kernel,
    seed: seed(),
  }).apply(ln().apply(x)) as tfl.SymbolicTensor
  x = tfl.layers.add().apply([x, att]) as tfl.SymbolicTensor
  let h = ln().apply(x) as tfl.SymbolicTensor
  for (const f of b.ff) {
    h = tfl.layers
      .dense({
        units: f,
        activation: 'gelu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }),
      })
      .apply(h) as tfl.SymbolicTensor
  }
  h = tfl.layers
    .dense({ units: b.dim, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }) })
    .apply(h) as tfl.SymbolicTensor
  return tfl.layers.add().apply([x, h]) as tfl.SymbolicTensor
}

interface VitPlan {
  o: z.output<typeof VitNetworkOptions>
  /** per stage: input grid side and channels, output grid, the block */
  stages: {
    h: number
    w: number
    cin: number
    ho: number
    wo: number
    patch: number
    block: Block
    depth: number
  }[]
}

function vitPlan(arch: VitArch, options?: VitNetworkOptions): VitPlan {
  const a = vit.validate(arch)
  const o = parseConfig(VitNetworkOptions, options, 'ViT network option')
  let [h, w, cin] = o.inputShape
  const stages = a.stages.map((s) => {
    const [ho, wo] = [Math.ceil(h / s.patchSize), Math.ceil(w / s.patchSize)]
    const block: Block = {
      dim: s.embedDim,
      heads: s.heads,
      headDim: o.headDim ?? Math.ceil(s.embedDim / s.heads),
      mode: 'sdp',
      kernel: 1,
      ff: [Math.round(s.embedDim * s.mlpRatio)],
    }
    const st = { h, w, cin, ho, wo, patch: s.patchSize, block, depth: s.depth }
    ;[h, w, cin] = [ho, wo, s.embedDim]
    return st
  })
  return { o, stages }
}

/**
 * Exact parameters and FLOPs of {@link buildVit}'s network. Parameters are the trainable weights:
 * patch-embedding kernels and biases, the class token, position embeddings, LayerNorm scales and
 * shifts, attention and MLP weights and biases, the head. FLOPs are multiply-accumulates of the
 * convolutions and linear layers (a bias counts one per output, as `nb201Cost`) plus attention's
 * `Q K^T` and `A V` products (`2 n^2 heads headDim` per block over `n` tokens); nothing for
 * LayerNorm, softmax, GELU, additions or the embeddings.
 * @since 0.1.0
 * @category models
 */
export function vitCost(arch: VitArch, options?: VitNetworkOptions): { params: number; flops: number } {
  const { o, stages } = vitPlan(arch, options)
  let params = 0
  let flops = 0
  stages.forEach((s, i) => {
    const d = s.block.dim
    const conv = s.patch * s.patch * s.cin * d + d
    params += conv
    flops += s.ho * s.wo * conv
    const last = i === stages.length - 1
    const n = s.ho * s.wo + (last ? 1 : 0)
    params += n * d + (last ? d : 0) // position embedding, class token
    const b = blockCost(s.block, n)
    params += s.depth * b.params
    flops += s.depth * b.flops
  })
  const d = stages[stages.length - 1]!.block.dim
  params += 2 * d + d * o.classes + o.classes
  flops += d * o.classes + o.classes
  return { params, flops }
}

/**
 * The multi-stage vision transformer of `arch` (logits out), after ViT (Dosovitskiy et al., 2021):
 * each stage embeds patches by a convolution of kernel and stride its patch size (`same` padding, so
 * a grid of side `ceil(side / patch)`) to its embedding dim, adds a learned position embedding and
 * runs `depth` pre-norm encoder blocks (multi-head self-attention, then an MLP of
 * `round(dim * mlpRatio)` hidden units with GELU, erf form, each with a residual); the last stage
 * also prepends the class token, and its final LayerNorm'ed class token feeds a linear head. Later
 * stages take the previous stage's tokens as a grid. Registers nasjs's custom layers
 * (`NasMultiHeadAttention`, `NasTokenEmbedding`, `NasFirstToken`).
 * @since 0.1.0
 * @category models
 */
export function buildVit(arch: VitArch, options?: VitNetworkOptions): tfl.LayersModel {
  const { o, stages } = vitPlan(arch, options)
  const rng = new Rng(o.seed)
  const seed = () => rng.int(2 ** 31)
  const input = tfl.input({ shape: o.inputShape })
  let x: tfl.SymbolicTensor = input
  stages.forEach((s, i) => {
    const d = s.block.dim
    if (i > 0) x = tfl.layers.reshape({ targetShape: [s.h, s.w, s.cin] }).apply(x) as tfl.SymbolicTensor
    x = tfl.layers
      .conv2d({
        filters: d,
        kernelSize: s.patch,
        strides: s.patch,
        padding: 'same',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }),
      })
      .apply(x) as tfl.SymbolicTensor
    x = tfl.layers.reshape({ targetShape: [s.ho * s.wo, d] }).apply(x) as tfl.SymbolicTensor
    x = new NasTokenEmbedding({ classToken: i === stages.length - 1, seed: seed() }).apply(
      x,
    ) as tfl.SymbolicTensor
    for (let j = 0; j < s.depth; j++) x = addBlock(x, s.block, seed)
  })
  x = tfl.layers.layerNormalization({ epsilon: LN_EPSILON }).apply(x) as tfl.SymbolicTensor
  x = new NasFirstToken({}).apply(x) as tfl.SymbolicTensor
  const out = tfl.layers
    .dense({ units: o.classes, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }) })
    .apply(x) as tfl.SymbolicTensor
  return tfl.model({ inputs: input, outputs: out })
}

function transformerPlan(arch: TransformerArch, options?: TransformerNetworkOptions) {
  const a = transformer.validate(arch)
  const o = parseConfig(TransformerNetworkOptions, options, 'transformer network option')
  const blocks = a.layers.map((l): Block => {
    const at = l.attention
    const mode: NasAttentionMode =
      at.option === 'sa' ? at.value.similarity : at.option === 'l' ? at.value.transform : 'conv'
    return {
      dim: l.hidden,
      heads: at.value.heads,
      headDim: l.hidden / at.value.heads,
      mode,
      kernel: at.option === 'c' ? at.value.kernel : 1,
      ff: [...l.ff],
    }
  })
  return { o, blocks, tokens: o.sequenceLength + (o.pooling === 'cls' ? 1 : 0) }
}

/**
 * Exact parameters and FLOPs of {@link buildTransformer}'s network, with {@link vitCost}'s
 * conventions; the token embedding is a lookup (parameters, no FLOPs). The `wma` similarity adds
 * `n heads headDim^2`, a `dft`/`dct` transform `n^2 heads headDim`, a dynamic convolution its kernel
 * generator (a linear layer) and `n kernel heads headDim`.
 * @since 0.1.0
 * @category models
 */
export function transformerCost(
  arch: TransformerArch,
  options?: TransformerNetworkOptions,
): { params: number; flops: number } {
  const { o, blocks, tokens: n } = transformerPlan(arch, options)
  const d0 = blocks[0]!.dim
  let params = o.vocabSize * d0 + n * d0 + (o.pooling === 'cls' ? d0 : 0)
  let flops = 0
  let c = d0
  for (const b of blocks) {
    if (b.dim !== c) {
      params += c * b.dim + b.dim
      flops += n * (c * b.dim + b.dim)
    }
    const k = blockCost(b, n)
    params += k.params
    flops += k.flops
    c = b.dim
  }
  params += 2 * c + c * o.classes + o.classes
  flops += c * o.classes + o.classes
  return { params, flops }
}

/**
 * The text classifier of a `transformer` (FlexiBERT-style) architecture, logits out; input
 * `[batch, sequenceLength]` token ids (float32). Token embedding plus a learned position embedding
 * (and a class token with `pooling: 'cls'`), then one pre-norm encoder block per layer at that
 * layer's hidden size, with a linear projection (with bias) where the hidden size changes: the token
 * mixing of the layer's attention ({@link NasAttentionMode}; `sa` is `sdp` or `wma`, `l` is `dft` or
 * `dct`, `c` is `conv` with the layer's kernel) with `hidden / heads` per head, and the MLP
 * `hidden -> ff... -> hidden` with GELU (erf form) after each hidden layer; a final LayerNorm, mean
 * pooling or the class token, a linear head.
 * @since 0.1.0
 * @category models
 */
export function buildTransformer(
  arch: TransformerArch,
  options?: TransformerNetworkOptions,
): tfl.LayersModel {
  const { o, blocks } = transformerPlan(arch, options)
  const rng = new Rng(o.seed)
  const seed = () => rng.int(2 ** 31)
  const input = tfl.input({ shape: [o.sequenceLength] })
  let c = blocks[0]!.dim
  let x = tfl.layers
    .embedding({
      inputDim: o.vocabSize,
      outputDim: c,
      embeddingsInitializer: tfl.initializers.randomNormal({ stddev: 0.02, seed: seed() }),
    })
    .apply(input) as tfl.SymbolicTensor
  x = new NasTokenEmbedding({ classToken: o.pooling === 'cls', seed: seed() }).apply(x) as tfl.SymbolicTensor
  for (const b of blocks) {
    if (b.dim !== c) {
      x = tfl.layers
        .dense({ units: b.dim, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }) })
        .apply(x) as tfl.SymbolicTensor
    }
    x = addBlock(x, b, seed)
    c = b.dim
  }
  x = tfl.layers.layerNormalization({ epsilon: LN_EPSILON }).apply(x) as tfl.SymbolicTensor
  x = (o.pooling === 'cls' ? new NasFirstToken({}) : tfl.layers.globalAveragePooling1d()).apply(
    x,
  ) as tfl.SymbolicTensor
  const out = tfl.layers
    .dense({ units: o.classes, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }) })
    .apply(x) as tfl.SymbolicTensor
  return tfl.model({ inputs: input, outputs: out })
}
