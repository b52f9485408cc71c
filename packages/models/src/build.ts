import { NasError } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import type * as tfl from '@tensorflow/tfjs-layers'
import type { DartsNetworkOptions } from './darts.js'
import { buildDarts, dartsCost } from './darts.js'
import type { FbnetNetworkOptions } from './fbnet.js'
import { buildFbnet, fbnetCost } from './fbnet.js'
import type { Nb101NetworkOptions } from './nb101.js'
import { buildNb101, nb101Cost } from './nb101.js'
import type { Nb201NetworkOptions } from './nb201.js'
import { buildNb201, nb201Cost } from './nb201.js'
import type { OfaMbv3NetworkOptions } from './ofa-mbv3.js'
import { buildOfaMbv3, ofaMbv3Cost } from './ofa-mbv3.js'
import type { TransformerNetworkOptions, VitNetworkOptions } from './vit.js'
import { buildTransformer, buildVit, transformerCost, vitCost } from './vit.js'

/**
 * The spaces that have a builder. The other built-in space (gnn) does not have one yet.
 * @since 0.1.0
 */
export const BUILDABLE_SPACES = [
  'nb201',
  'darts',
  'nb101',
  'ofa-mbv3',
  'fbnet',
  'vit',
  'transformer',
] as const

/** @since 0.1.0 */
export type BuildableSpace = (typeof BUILDABLE_SPACES)[number]

/**
 * The builder options of each buildable space: {@link Nb201NetworkOptions} for `nb201`,
 * {@link DartsNetworkOptions} for `darts`, {@link Nb101NetworkOptions} for `nb101`,
 * {@link OfaMbv3NetworkOptions} for `ofa-mbv3`, {@link FbnetNetworkOptions} for `fbnet`,
 * {@link VitNetworkOptions} for `vit`, {@link TransformerNetworkOptions} for `transformer`.
 * @since 0.1.0
 */
export type NetworkOptions =
  | Nb201NetworkOptions
  | DartsNetworkOptions
  | Nb101NetworkOptions
  | OfaMbv3NetworkOptions
  | FbnetNetworkOptions
  | VitNetworkOptions
  | TransformerNetworkOptions

/** Each buildable space's builder and its analytic counter, side by side. */
const BUILDERS: Readonly<
  Record<
    BuildableSpace,
    {
      build(arch: never, options: never): tfl.LayersModel
      cost(arch: never, options: never): { params: number; flops: number }
    }
  >
> = {
  nb201: { build: buildNb201, cost: nb201Cost },
  darts: { build: buildDarts, cost: dartsCost },
  nb101: { build: buildNb101, cost: nb101Cost },
  'ofa-mbv3': { build: buildOfaMbv3, cost: ofaMbv3Cost },
  fbnet: { build: buildFbnet, cost: fbnetCost },
  vit: { build: buildVit, cost: vitCost },
  transformer: { build: buildTransformer, cost: transformerCost },
}

function builderFor(space: SearchSpace<unknown>): BuildableSpace {
  const id = space.id
  if ((BUILDABLE_SPACES as readonly string[]).includes(id)) return id as BuildableSpace
  throw new NasError({
    code: 'NOT_REGISTERED',
    message: `no network builder for space '${id}'; spaces with a builder: ${BUILDABLE_SPACES.join(', ')}`,
    value: id,
    allowed: BUILDABLE_SPACES,
  })
}

/**
 * The network of architecture `arch` of `space` as a TF.js model (logits out). `arch` is checked
 * against the space first (`ARCH_INVALID` names what is wrong); options are the space's builder
 * options (for `nb201`: {@link Nb201NetworkOptions}; for `darts`: {@link DartsNetworkOptions}, whose
 * `auxiliary: true` gives a second output; for `nb101`: {@link Nb101NetworkOptions}; for `ofa-mbv3`:
 * {@link OfaMbv3NetworkOptions}, whose input size is the architecture's resolution unless
 * `inputShape` says otherwise; for `fbnet`: {@link FbnetNetworkOptions}; for `vit`:
 * {@link VitNetworkOptions}; for `transformer`: {@link TransformerNetworkOptions}, token ids in).
 * @example
 * const model = buildModel(nb201, nb201.parse('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'))
 * @since 0.1.0
 * @category models
 */
export function buildModel<A>(space: SearchSpace<A>, arch: A, options?: NetworkOptions): tfl.LayersModel {
  const a = space.validate(arch) as never
  return BUILDERS[builderFor(space)].build(a, options as never)
}

/**
 * Exact parameters and FLOPs (multiply-accumulates) of the network {@link buildModel} builds, computed
 * without building it.
 * @since 0.1.0
 * @category models
 */
export function modelCost<A>(
  space: SearchSpace<A>,
  arch: A,
  options?: NetworkOptions,
): { params: number; flops: number } {
  const a = space.validate(arch) as never
  return BUILDERS[builderFor(space)].cost(a, options as never)
}
