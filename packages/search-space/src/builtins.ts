import type { SearchSpace } from './types.js'
import { darts } from './spaces/darts.js'
import { fbnet } from './spaces/fbnet.js'
import { gnn } from './spaces/gnn.js'
import { nb101 } from './spaces/nb101.js'
import { nb201 } from './spaces/nb201.js'
import { ofaMbv3 } from './spaces/ofa.js'
import { quantPolicy } from './spaces/quant.js'
import { transformer, vit } from './spaces/transformer.js'

/**
 * Every built-in space, in the order the CLI lists them: `nb201`, `nb101`, `darts`, `ofa-mbv3`,
 * `fbnet`, `transformer`, `vit`, `gnn`, `quant-policy`. Typed as `SearchSpace<unknown>`: import a
 * space's own export (e.g. `nb201`) for its precise architecture type.
 * @since 0.1.0
 */
export const builtinSpaces: readonly SearchSpace<unknown>[] = [
  nb201,
  nb101,
  darts,
  ofaMbv3,
  fbnet,
  transformer,
  vit,
  gnn,
  quantPolicy,
]

/**
 * The ids of the built-in spaces.
 * @since 0.1.0
 */
export const builtinSpaceIds: readonly string[] = builtinSpaces.map((s) => s.id)
