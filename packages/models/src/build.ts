import { NasError } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import type * as tfl from '@tensorflow/tfjs-layers'
import type { Nb201NetworkOptions } from './nb201.js'
import { buildNb201, nb201Cost } from './nb201.js'

/**
 * The spaces that have a builder. The other built-in spaces (darts, nb101, ofa-mbv3, fbnet, vit,
 * transformer, gnn) do not have one yet.
 * @since 0.1.0
 */
export const BUILDABLE_SPACES = ['nb201'] as const

/** @since 0.1.0 */
export type BuildableSpace = (typeof BUILDABLE_SPACES)[number]

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
 * options (for `nb201`: {@link Nb201NetworkOptions}).
 * @example
 * const model = buildModel(nb201, nb201.parse('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'))
 * @since 0.1.0
 * @category models
 */
export function buildModel<A>(
  space: SearchSpace<A>,
  arch: A,
  options?: Nb201NetworkOptions,
): tfl.LayersModel {
  builderFor(space)
  return buildNb201(space.validate(arch) as never, options)
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
  options?: Nb201NetworkOptions,
): { params: number; flops: number } {
  builderFor(space)
  return nb201Cost(space.validate(arch) as never, options)
}
