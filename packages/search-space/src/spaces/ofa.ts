import { formatAllowed } from '@nasjs/core'
import { intRange, ordinal, product, repeat, struct } from '../dsl/constructors.js'
import { defineSpaceAs, type DslSpace } from '../dsl/define.js'
import { archError, show } from '../internal.js'

/** Kernel sizes of an elastic MBConv block. @since 0.1.0 */
export const OFA_KERNELS = [3, 5, 7] as const
/** Expand ratios of an elastic MBConv block. @since 0.1.0 */
export const OFA_EXPANDS = [3, 4, 6] as const
/** Depths (active blocks) of a stage. @since 0.1.0 */
export const OFA_DEPTHS = [2, 3, 4] as const

/** One active MBConv block. @since 0.1.0 */
export interface OfaBlock {
  kernel: 3 | 5 | 7
  expand: 3 | 4 | 6
}
/** An OFA-MobileNetV3 subnet: the input resolution and the active blocks (2..4) of each of the 5 stages. @since 0.1.0 */
export interface OfaArch {
  resolution: number
  stages: [OfaBlock[], OfaBlock[], OfaBlock[], OfaBlock[], OfaBlock[]]
}

const block = struct({ kernel: ordinal(OFA_KERNELS), expand: ordinal(OFA_EXPANDS) })
const stage = repeat(block, 2, 4)

/**
 * The closed form of the OFA-MobileNetV3 space size: 25 resolutions x ((3x3)^2 + (3x3)^3 + (3x3)^4)^5.
 * @since 0.1.0
 */
export const OFA_MBV3_SIZE: bigint = 25n * (9n ** 2n + 9n ** 3n + 9n ** 4n) ** 5n

/**
 * The Once-for-All arch dict `{"ks":[20],"e":[20],"d":[5],"r":[res]}` (the form OFA's
 * `sample_active_subnet` / evolution finder use); slots of inactive blocks are written as 3.
 * @since 0.1.0
 */
export function formatOfa(a: OfaArch): string {
  const ks: number[] = []
  const e: number[] = []
  for (const s of a.stages) {
    for (let b = 0; b < 4; b++) {
      ks.push(s[b]?.kernel ?? 3)
      e.push(s[b]?.expand ?? 3)
    }
  }
  return JSON.stringify({ ks, e, d: a.stages.map((s) => s.length), r: [a.resolution] })
}

/**
 * Parses the OFA arch dict (JSON, or Python dict text with single quotes). Slots of inactive blocks
 * must hold allowed values but are otherwise ignored.
 * @since 0.1.0
 */
export function parseOfa(text: string): OfaArch {
  let x: unknown
  try {
    x = JSON.parse(String(text).replace(/'/g, '"'))
  } catch {
    throw archError(
      `an OFA arch is a dict {"ks": [20], "e": [20], "d": [5], "r": [res]}, got ${show(text)}`,
      text,
    )
  }
  const o = (typeof x === 'object' && x !== null ? x : {}) as Record<string, unknown>
  const list = (key: string, n: number, allowed: readonly number[]): number[] => {
    const v = o[key]
    if (!Array.isArray(v) || v.length !== n) {
      throw archError(
        `OFA arch field '${key}' must be a list of ${n} numbers, got ${show(v)}`,
        v,
        undefined,
        [key],
      )
    }
    v.forEach((t, i) => {
      if (!allowed.includes(t as number)) {
        throw archError(
          `OFA arch ${key}[${i}] is ${show(t)}; expected ${formatAllowed(allowed)}`,
          t,
          allowed,
          [key, i],
        )
      }
    })
    return v as number[]
  }
  const resolutions: number[] = []
  for (let r = 128; r <= 224; r += 4) resolutions.push(r)
  const ks = list('ks', 20, OFA_KERNELS)
  const e = list('e', 20, OFA_EXPANDS)
  const d = list('d', 5, OFA_DEPTHS)
  const r =
    o.r === undefined ? [224] : Array.isArray(o.r) ? list('r', 1, resolutions) : list('r', 1, resolutions)
  const stages = d.map((depth, s) =>
    Array.from({ length: depth }, (_, b) => ({ kernel: ks[s * 4 + b], expand: e[s * 4 + b] }) as OfaBlock),
  ) as OfaArch['stages']
  return { resolution: r[0]!, stages }
}

/**
 * The Once-for-All MobileNetV3 elastic space (Cai et al., 2020): 5 stages of 2..4 MBConv blocks, each
 * with kernel 3/5/7 and expand ratio 3/4/6, input resolution 128..224 in steps of 4. Exactly
 * {@link OFA_MBV3_SIZE} (about 5.4 x 10^20) subnets; without the resolution about 2.2 x 10^19, the
 * figure the paper gives.
 * @since 0.1.0
 * @category models
 */
export const ofaMbv3: DslSpace<OfaArch> = defineSpaceAs<OfaArch>(
  'ofa-mbv3',
  struct({ resolution: intRange(128, 224, 4), stages: product(stage, stage, stage, stage, stage) }),
  {
    title: 'Once-for-All MobileNetV3 (5 stages, depth 2-4, kernel 3/5/7, expand 3/4/6, resolution 128-224)',
    format: formatOfa,
    parse: parseOfa,
  },
)
