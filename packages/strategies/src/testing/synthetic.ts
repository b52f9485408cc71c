import type { Metrics } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'

/** FNV-1a of a string to [0, 1). */
function unit(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return (h >>> 0) / 4294967296
}

/**
 * Deterministic synthetic metrics for any space, from the architecture's hash: `acc` (to maximise,
 * 50..100, lower at low fidelity) and `lat` (to minimise, 1..11, mildly anti-correlated with `acc`),
 * plus `cost` = the fidelity (or 1). For conformance tests, where only determinism matters.
 * @since 0.1.0
 */
export function syntheticMetrics<A>(space: SearchSpace<A>): (arch: A, fidelity?: number) => Metrics {
  return (arch, fidelity) => {
    const h = space.hash(arch)
    const u = unit(h)
    const v = unit(`${h}#lat`)
    const acc = 50 + 50 * u - (fidelity === undefined ? 0 : 20 / (1 + fidelity))
    return { acc, lat: 1 + 5 * u + 5 * v, cost: fidelity ?? 1 }
  }
}
