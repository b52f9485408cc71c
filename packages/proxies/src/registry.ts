import { NasError, unknownName } from '@nasjs/core'
import { epeNas, zen } from './data-free.js'
import {
  fisher,
  flops,
  gradNorm,
  grasp,
  jacov,
  l2Norm,
  nwot,
  params,
  plain,
  snip,
  synflow,
} from './proxies.js'
import type { ProxyDefinition } from './types.js'

/**
 * The built-in proxies, by the names NAS-Bench-Suite-Zero uses.
 * @since 0.1.0
 * @category registry
 */
export const builtinProxies: readonly ProxyDefinition[] = [
  synflow,
  snip,
  grasp,
  fisher,
  gradNorm,
  jacov,
  nwot,
  zen,
  epeNas,
  l2Norm,
  plain,
  params,
  flops,
]

/**
 * Names of the built-in proxies.
 * @since 0.1.0
 */
export const PROXY_NAMES = builtinProxies.map((p) => p.name)

/**
 * A set of proxies by name. Registration is explicit: importing this package registers nothing anywhere.
 * @since 0.1.0
 * @category registry
 */
export interface ProxyRegistry {
  register(def: ProxyDefinition): void
  /** The proxy of that name; an unknown name is a `NasError` (`NOT_REGISTERED`) listing the known ones. */
  get(name: string): ProxyDefinition
  has(name: string): boolean
  names(): string[]
  /** Parses a comma-separated list (`synflow,nwot`) into definitions; `all` for every proxy. */
  parseList(list: string | readonly string[]): ProxyDefinition[]
}

/**
 * Creates a proxy registry, by default over the built-ins.
 *
 * @example
 * ```ts
 * import { createProxyRegistry } from '@nasjs/proxies'
 *
 * const registry = createProxyRegistry()
 * registry.parseList('synflow,nwot').map((p) => p.name) // ['synflow', 'nwot']
 * ```
 * @since 0.1.0
 * @category registry
 */
export function createProxyRegistry(defs: readonly ProxyDefinition[] = builtinProxies): ProxyRegistry {
  const byName = new Map<string, ProxyDefinition>()
  const registry: ProxyRegistry = {
    register(def) {
      if (byName.has(def.name)) {
        throw new NasError({
          code: 'DUPLICATE_NAME',
          message: `a proxy named '${def.name}' is already registered`,
          value: def.name,
          allowed: [...byName.keys()],
        })
      }
      byName.set(def.name, def)
    },
    get(name) {
      const d = byName.get(name)
      if (d === undefined) throw unknownName('proxy', name, [...byName.keys()])
      return d
    },
    has: (name) => byName.has(name),
    names: () => [...byName.keys()],
    parseList(list) {
      const names = (typeof list === 'string' ? list.split(',') : list)
        .map((s) => s.trim())
        .filter((s) => s !== '')
      if (names.length === 1 && names[0] === 'all') return [...byName.values()]
      if (names.length === 0) {
        throw new NasError({
          code: 'INPUT_INVALID',
          message: 'no proxy named',
          allowed: [...byName.keys(), 'all'],
        })
      }
      const seen = new Set<string>()
      return names.filter((n) => (seen.has(n) ? false : (seen.add(n), true))).map((n) => registry.get(n))
    },
  }
  for (const d of defs) registry.register(d)
  return registry
}
