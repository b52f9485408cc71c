import { NasError } from '@nasjs/core'
import { parseConfig } from '@nasjs/models'
import type { OfaArch, OfaBlock } from '@nasjs/search-space'
import {
  defineSpaceAs,
  formatOfa,
  OFA_DEPTHS,
  OFA_EXPANDS,
  OFA_KERNELS,
  ordinal,
  parseOfa,
  product,
  repeat,
  struct,
  type DslSpace,
} from '@nasjs/search-space'
import { z } from 'zod'

const kernelList = z
  .array(z.literal([3, 5, 7]))
  .min(1)
  .refine((xs) => new Set(xs).size === xs.length, 'no value twice')
const expandList = z
  .array(z.literal([3, 4, 6]))
  .min(1)
  .refine((xs) => new Set(xs).size === xs.length, 'no value twice')

/**
 * The shape of an elastic MobileNetV3 supernet (zod, strict, every field defaulted): the defaults
 * are Once-for-All's `ofa_mbv3_d234_e346_k357_w1.0` at ImageNet's 1,000 classes, whose largest
 * subnet is `buildOfaMbv3`'s network of the largest architecture. A smaller supernet keeps the five
 * stages, their strides, activations and squeeze-and-excitation, and changes the widths, the input
 * (resolutions, channels, classes) and the choices.
 * @since 0.1.0
 * @category supernet
 */
export const SupernetConfig = z
  .object({
    widths: z
      .tuple([
        z.number().int().min(1),
        z.number().int().min(1),
        z.number().int().min(1),
        z.number().int().min(1),
        z.number().int().min(1),
        z.number().int().min(1),
        z.number().int().min(1),
        z.number().int().min(1),
        z.number().int().min(1),
      ])
      .default([16, 16, 24, 40, 80, 112, 160, 960, 1280])
      .describe(
        'channels of the stem, the first block, the 5 stages, the final 1x1 expansion and the feature mix',
      ),
    resolutions: z
      .array(z.number().int().min(8))
      .min(1)
      .default([128, 160, 192, 224])
      .describe('input sides the supernet trains and searches at (elastic resolution)'),
    inputChannels: z.number().int().min(1).default(3),
    classes: z.number().int().min(2).default(1000),
    kernels: kernelList.default([...OFA_KERNELS]).describe('depthwise kernel sizes (3, 5, 7)'),
    expands: expandList.default([...OFA_EXPANDS]).describe('expand ratios (3, 4, 6)'),
    depths: z
      .array(z.literal([2, 3, 4]))
      .min(1)
      .default([...OFA_DEPTHS])
      .refine(
        (xs) => xs.every((d, i) => i === 0 || d === xs[i - 1]! + 1),
        'depths must be consecutive and ascending (e.g. [2, 3, 4])',
      )
      .describe('blocks per stage (consecutive, e.g. [2, 3, 4])'),
    dropout: z.number().min(0).lt(1).default(0.1).describe('dropout before the classifier (OFA: 0.1)'),
    kernelTransform: z
      .boolean()
      .default(true)
      .describe(
        "a smaller kernel is the larger one's centre times a learned matrix (OFA); off: the plain centre (BigNAS)",
      ),
    zeroInitResidual: z
      .boolean()
      .default(false)
      .describe("start each residual block's last BatchNorm scale at 0 (BigNAS)"),
    seed: z.number().int().default(0).describe('seed of the initial weights'),
  })
  .strict()
/** @since 0.1.0 */
export type SupernetConfig = z.input<typeof SupernetConfig>
/** @since 0.1.0 */
export type SupernetShape = z.output<typeof SupernetConfig>

/**
 * Checks a supernet config: one `CONFIG_INVALID` NasError names the bad fields.
 * @since 0.1.0
 * @category supernet
 */
export function parseSupernetConfig(config: unknown): SupernetShape {
  const c = parseConfig(SupernetConfig, config, 'supernet config')
  return {
    ...c,
    kernels: [...c.kernels].sort((a, b) => a - b),
    expands: [...c.expands].sort((a, b) => a - b),
    resolutions: [...new Set(c.resolutions)].sort((a, b) => a - b),
  }
}

/**
 * Once-for-All's MobileNetV3 supernet at width 1.0 for ImageNet (the config's defaults).
 * @since 0.1.0
 * @category supernet
 */
export const OFA_MBV3_SUPERNET: SupernetConfig = {}

/**
 * The scaled-down OFA space nasjs trains on Fashion-MNIST on two cores: the same five stages with
 * their strides, activations and squeeze-and-excitation, every elastic choice of OFA (kernel 3/5/7,
 * expand 3/4/6, depth 2-4), a quarter of OFA's widths in the stages (8, 8, 8, 16, 24, 32, 40 channels,
 * final expansion 240, feature mix 320), grey 28x28 images resized to 24, 28 or 32 pixels, 10 classes.
 * @since 0.1.0
 * @category supernet
 */
export const OFA_MBV3_FMNIST: SupernetConfig = {
  widths: [8, 8, 8, 16, 24, 32, 40, 240, 320],
  resolutions: [24, 28, 32],
  inputChannels: 1,
  classes: 10,
}

/**
 * The search space of a supernet's subnets: OFA-MobileNetV3 architectures (`OfaArch`, written as
 * OFA's `{"ks", "e", "d", "r"}` dict) restricted to the supernet's resolutions, kernels, expand
 * ratios and depths. Its id is `ofa-mbv3` for OFA's own choices and resolutions 128 to 224, else
 * `ofa-mbv3@` followed by the resolutions and choices (`ofa-mbv3@r24,28,32`).
 * @since 0.1.0
 * @category supernet
 */
export function supernetSpace(config: SupernetConfig = {}): DslSpace<OfaArch> {
  const c = parseSupernetConfig(config)
  const block = struct({ kernel: ordinal(c.kernels), expand: ordinal(c.expands) })
  const stage = repeat(block, c.depths[0]!, c.depths.at(-1)!)
  const parts: string[] = [`r${c.resolutions.join(',')}`]
  if (c.kernels.length !== 3) parts.push(`k${c.kernels.join(',')}`)
  if (c.expands.length !== 3) parts.push(`e${c.expands.join(',')}`)
  if (c.depths.length !== 3) parts.push(`d${c.depths.join(',')}`)
  const id = `ofa-mbv3@${parts.join(':')}`
  const parse = (text: string): OfaArch => {
    let r: unknown
    try {
      r = (JSON.parse(String(text).replace(/'/g, '"')) as { r?: unknown }).r
    } catch {
      r = undefined
    }
    const res = Array.isArray(r) ? (r[0] as unknown) : c.resolutions.at(-1)
    if (typeof res !== 'number' || !c.resolutions.includes(res)) {
      throw new NasError({
        code: 'ARCH_INVALID',
        message: `resolution ${JSON.stringify(res)} is not one of this supernet's (${c.resolutions.join(', ')})`,
        value: res,
        allowed: c.resolutions,
      })
    }
    // parseOfa checks the kernels, expands and depths; its resolution check is OFA's (128-224)
    const o = JSON.parse(String(text).replace(/'/g, '"')) as Record<string, unknown>
    return { ...parseOfa(JSON.stringify({ ...o, r: [224] })), resolution: res }
  }
  return defineSpaceAs<OfaArch>(
    id,
    struct({ resolution: ordinal(c.resolutions), stages: product(stage, stage, stage, stage, stage) }),
    {
      title: `OFA-MobileNetV3 subnets (depth ${c.depths.join('/')}, kernel ${c.kernels.join('/')}, expand ${c.expands.join('/')}, resolution ${c.resolutions.join('/')})`,
      format: formatOfa,
      parse,
    },
  )
}

/**
 * The largest subnet: the largest resolution, kernel, expand ratio and depth everywhere.
 * @since 0.1.0
 * @category supernet
 */
export function largestArch(config: SupernetConfig = {}): OfaArch {
  const c = parseSupernetConfig(config)
  return uniformArch(c.resolutions.at(-1)!, c.depths.at(-1)!, {
    kernel: c.kernels.at(-1)!,
    expand: c.expands.at(-1)!,
  })
}

/**
 * The smallest subnet: the smallest resolution, kernel, expand ratio and depth everywhere.
 * @since 0.1.0
 * @category supernet
 */
export function smallestArch(config: SupernetConfig = {}): OfaArch {
  const c = parseSupernetConfig(config)
  return uniformArch(c.resolutions[0]!, c.depths[0]!, { kernel: c.kernels[0]!, expand: c.expands[0]! })
}

function uniformArch(resolution: number, depth: number, b: OfaBlock): OfaArch {
  const stage = () => Array.from({ length: depth }, () => ({ ...b }))
  return { resolution, stages: [stage(), stage(), stage(), stage(), stage()] }
}
