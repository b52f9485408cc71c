import { formatAllowed } from '@nasjs/core'
import { choice, conditional, ordinal, repeat, struct } from '../dsl/constructors.js'
import { defineSpaceAs, type DslSpace } from '../dsl/define.js'
import { archError, show } from '../internal.js'

/** Hidden sizes of a FlexiBERT layer. @since 0.1.0 */
export const FLEXIBERT_HIDDEN = [128, 256, 512, 768] as const
/** Attention heads (each divides every hidden size). @since 0.1.0 */
export const FLEXIBERT_HEADS = [2, 4, 8] as const
/** Feed-forward hidden sizes. @since 0.1.0 */
export const FLEXIBERT_FF = [512, 1024, 2048, 3072] as const
/** Self-attention similarity: scaled dot-product or weighted multiplicative. @since 0.1.0 */
export const FLEXIBERT_SA = ['sdp', 'wma'] as const
/** Linear-transform attention: discrete Fourier or cosine transform. @since 0.1.0 */
export const FLEXIBERT_LT = ['dft', 'dct'] as const
/** Kernel sizes of dynamic-span convolution attention. @since 0.1.0 */
export const FLEXIBERT_CONV_KERNELS = [5, 9, 13] as const

/** The attention of one layer: self-attention, linear transform, or convolution. @since 0.1.0 */
export type FlexibertAttention =
  | { option: 'sa'; value: { heads: number; similarity: 'sdp' | 'wma' } }
  | { option: 'l'; value: { heads: number; transform: 'dft' | 'dct' } }
  | { option: 'c'; value: { heads: number; kernel: number } }
/** One encoder layer. @since 0.1.0 */
export interface FlexibertLayer {
  hidden: number
  attention: FlexibertAttention
  /** The sizes of the 1..3 stacked feed-forward layers. */
  ff: number[]
}
/** A heterogeneous transformer encoder: 2..12 layers, each with its own hyper-parameters. @since 0.1.0 */
export interface TransformerArch {
  layers: FlexibertLayer[]
}

const heads = ordinal(FLEXIBERT_HEADS)
const layer = struct({
  hidden: ordinal(FLEXIBERT_HIDDEN),
  attention: conditional({
    sa: struct({ heads, similarity: choice(FLEXIBERT_SA) }),
    l: struct({ heads, transform: choice(FLEXIBERT_LT) }),
    c: struct({ heads, kernel: ordinal(FLEXIBERT_CONV_KERNELS) }),
  }),
  ff: repeat(ordinal(FLEXIBERT_FF), 1, 3),
})

const attText = (a: FlexibertAttention): string => {
  switch (a.option) {
    case 'sa':
      return `sa:${a.value.heads}:${a.value.similarity}`
    case 'l':
      return `l:${a.value.heads}:${a.value.transform}`
    case 'c':
      return `c:${a.value.heads}:${a.value.kernel}`
  }
}

/**
 * The text form: layers separated by ` | `, each `h<hidden>/<attention>/ff<sizes>` with attention
 * `sa:<heads>:<sdp|wma>`, `l:<heads>:<dft|dct>` or `c:<heads>:<kernel>`, e.g.
 * `h256/sa:4:sdp/ff1024,1024 | h128/c:2:9/ff512`. (FlexiBERT lists these per-layer hyper-parameters in its
 * model dictionaries; this one-line form is nasjs's own.)
 * @since 0.1.0
 */
export function formatTransformer(a: TransformerArch): string {
  return a.layers.map((l) => `h${l.hidden}/${attText(l.attention)}/ff${l.ff.join(',')}`).join(' | ')
}

function num(text: string, allowed: readonly number[], what: string, path: (string | number)[]): number {
  const v = Number(text)
  if (!allowed.includes(v)) {
    throw archError(`${what} is ${show(text)}; expected ${formatAllowed(allowed)}`, text, allowed, path)
  }
  return v
}

/** Parses {@link formatTransformer}'s text form; errors name the layer, the field and the allowed values. @since 0.1.0 */
export function parseTransformer(text: string): TransformerArch {
  const parts = String(text)
    .split('|')
    .map((s) => s.trim())
  if (parts.length < 2 || parts.length > 12) {
    throw archError(
      `a transformer has 2..12 layers separated by ' | ', got ${parts.length}`,
      text,
      [2, 12],
      ['layers'],
    )
  }
  const layers = parts.map((p, i): FlexibertLayer => {
    const path = ['layers', i]
    const m = /^h(\d+)\/(sa|l|c):(\d+):(\w+)\/ff([\d,]+)$/.exec(p)
    if (!m) {
      throw archError(
        `layer ${i} ${show(p)} is not 'h<hidden>/<sa|l|c>:<heads>:<detail>/ff<sizes>'`,
        p,
        undefined,
        path,
      )
    }
    const [, h, kind, hd, detail, ff] = m
    const hs = num(h!, FLEXIBERT_HIDDEN, `layer ${i} hidden size`, [...path, 'hidden'])
    const nh = num(hd!, FLEXIBERT_HEADS, `layer ${i} heads`, [...path, 'attention', 'value', 'heads'])
    const dpath = [...path, 'attention', 'value']
    let attention: FlexibertAttention
    if (kind === 'c') {
      attention = {
        option: 'c',
        value: { heads: nh, kernel: num(detail!, FLEXIBERT_CONV_KERNELS, `layer ${i} kernel`, dpath) },
      }
    } else {
      const allowed = kind === 'sa' ? FLEXIBERT_SA : FLEXIBERT_LT
      if (!(allowed as readonly string[]).includes(detail!)) {
        throw archError(
          `layer ${i} ${kind} type ${show(detail)}; expected ${formatAllowed(allowed)}`,
          detail,
          allowed,
          dpath,
        )
      }
      attention =
        kind === 'sa'
          ? { option: 'sa', value: { heads: nh, similarity: detail as 'sdp' | 'wma' } }
          : { option: 'l', value: { heads: nh, transform: detail as 'dft' | 'dct' } }
    }
    const sizes = ff!
      .split(',')
      .map((s, j) => num(s, FLEXIBERT_FF, `layer ${i} ff[${j}]`, [...path, 'ff', j]))
    if (sizes.length > 3)
      throw archError(
        `layer ${i} has ${sizes.length} feed-forward layers; expected 1..3`,
        sizes.length,
        [1, 2, 3],
        [...path, 'ff'],
      )
    return { hidden: hs, attention, ff: sizes }
  })
  return { layers }
}

/**
 * A heterogeneous BERT-style encoder space after FlexiBERT (Tuli et al., 2023): 2..12 layers, each
 * with its own hidden size, attention type (self-attention with 2 similarity measures, linear
 * transform DFT/DCT, or dynamic-span convolution with kernel 5/9/13), heads and 1..3 feed-forward sizes.
 * @since 0.1.0
 * @category models
 */
export const transformer: DslSpace<TransformerArch> = defineSpaceAs<TransformerArch>(
  'transformer',
  struct({ layers: repeat(layer, 2, 12) }),
  {
    title: 'FlexiBERT-style heterogeneous transformer encoder',
    format: formatTransformer,
    parse: parseTransformer,
  },
)

/** Embedding dims of a ViT stage. @since 0.1.0 */
export const VIT_EMBED_DIMS = [64, 96, 128, 192, 256, 320, 384, 448, 512, 640, 768] as const
/** Attention heads of a ViT stage. @since 0.1.0 */
export const VIT_HEADS = [1, 2, 4, 8, 12] as const
/** MLP ratios of a ViT stage. @since 0.1.0 */
export const VIT_MLP_RATIOS = [2, 3, 3.5, 4] as const
/** Patch sizes (the downsampling at the stage entry; 1 = none). @since 0.1.0 */
export const VIT_PATCH_SIZES = [1, 2, 4, 8, 16] as const

/** One stage of a multi-stage vision transformer. @since 0.1.0 */
export interface VitStage {
  depth: number
  embedDim: number
  heads: number
  mlpRatio: number
  patchSize: number
}
/** A multi-stage ViT: 1..4 stages. @since 0.1.0 */
export interface VitArch {
  stages: VitStage[]
}

const vitStage = struct({
  depth: ordinal([1, 2, 3, 4, 5, 6, 7, 8]),
  embedDim: ordinal(VIT_EMBED_DIMS),
  heads: ordinal(VIT_HEADS),
  mlpRatio: ordinal(VIT_MLP_RATIOS),
  patchSize: ordinal(VIT_PATCH_SIZES),
})

/** The text form: stages separated by ` | `, each `d<depth>-e<dim>-h<heads>-r<mlp ratio>-p<patch>`. @since 0.1.0 */
export function formatVit(a: VitArch): string {
  return a.stages
    .map((s) => `d${s.depth}-e${s.embedDim}-h${s.heads}-r${s.mlpRatio}-p${s.patchSize}`)
    .join(' | ')
}

/** Parses {@link formatVit}'s text form. @since 0.1.0 */
export function parseVit(text: string): VitArch {
  const parts = String(text)
    .split('|')
    .map((s) => s.trim())
  if (parts.length < 1 || parts.length > 4) {
    throw archError(`a ViT has 1..4 stages separated by ' | ', got ${parts.length}`, text, [1, 4], ['stages'])
  }
  const stages = parts.map((p, i): VitStage => {
    const m = /^d([\d.]+)-e([\d.]+)-h([\d.]+)-r([\d.]+)-p([\d.]+)$/.exec(p)
    if (!m)
      throw archError(
        `ViT stage ${i} ${show(p)} is not 'd<depth>-e<dim>-h<heads>-r<ratio>-p<patch>'`,
        p,
        undefined,
        ['stages', i],
      )
    const path = ['stages', i]
    return {
      depth: num(m[1]!, [1, 2, 3, 4, 5, 6, 7, 8], `stage ${i} depth`, [...path, 'depth']),
      embedDim: num(m[2]!, VIT_EMBED_DIMS, `stage ${i} embedding dim`, [...path, 'embedDim']),
      heads: num(m[3]!, VIT_HEADS, `stage ${i} heads`, [...path, 'heads']),
      mlpRatio: num(m[4]!, VIT_MLP_RATIOS, `stage ${i} MLP ratio`, [...path, 'mlpRatio']),
      patchSize: num(m[5]!, VIT_PATCH_SIZES, `stage ${i} patch size`, [...path, 'patchSize']),
    }
  })
  return { stages }
}

/**
 * A multi-stage vision-transformer space: 1..4 stages, each with its depth (1..8), embedding dim,
 * heads, MLP ratio and patch size (the patch embedding / merging at the stage entry).
 * @since 0.1.0
 * @category models
 */
export const vit: DslSpace<VitArch> = defineSpaceAs<VitArch>(
  'vit',
  struct({ stages: repeat(vitStage, 1, 4) }),
  {
    title: 'multi-stage vision transformer',
    format: formatVit,
    parse: parseVit,
  },
)
