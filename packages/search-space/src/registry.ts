import { NasError, unknownName } from '@nasjs/core'
import type { SearchSpace } from './types.js'
import { builtinSpaces } from './builtins.js'

/**
 * A read-only lookup of search spaces by id.
 * @since 0.1.0
 * @category models
 */
export interface SpaceRegistry {
  /** The space with this id; throws a `NOT_REGISTERED` NasError listing the known ids. */
  get(id: string): SearchSpace<unknown>
  /** Whether a space with this id exists. */
  has(id: string): boolean
  /** The registered ids, in registration order. */
  ids(): string[]
}

/**
 * Creates a registry over plain space values (by default the built-in spaces). Two spaces with the
 * same id are a `DUPLICATE_NAME` error.
 *
 * @example
 * ```ts
 * const reg = createSpaceRegistry([...builtinSpaces, myCustomSpace])
 * reg.get('nb201').size() // 15625n
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function createSpaceRegistry(defs: readonly SearchSpace<unknown>[] = builtinSpaces): SpaceRegistry {
  const byId = new Map<string, SearchSpace<unknown>>()
  for (const s of defs) {
    if (byId.has(s.id)) {
      throw new NasError({
        code: 'DUPLICATE_NAME',
        message: `two search spaces are registered with the id '${s.id}'`,
        value: s.id,
      })
    }
    byId.set(s.id, s)
  }
  return {
    get(id) {
      const s = byId.get(id)
      if (s === undefined) throw unknownName('search space', String(id), [...byId.keys()])
      return s
    },
    has: (id) => byId.has(id),
    ids: () => [...byId.keys()],
  }
}

let builtinRegistry: SpaceRegistry | undefined

/**
 * A built-in space by id (`nb201`, `nb101`, `darts`, ...); throws `NOT_REGISTERED` listing the ids.
 * @since 0.1.0
 * @category constructors
 */
export function getSpace(id: string): SearchSpace<unknown> {
  builtinRegistry ??= createSpaceRegistry()
  return builtinRegistry.get(id)
}
