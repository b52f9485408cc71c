import { Rng } from '@nasjs/core'
import type { Metrics, Objective } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import { createStrategyRegistry } from '../registry.js'
import type { Proposal, Strategy } from '../types.js'

export const registry = createStrategyRegistry()

export const obj = (name: string, direction: 'max' | 'min' = 'max'): Objective => ({ name, direction })

export function make<A>(
  name: string,
  space: SearchSpace<A>,
  config: unknown = {},
  seed = 1,
  objectives: readonly Objective[] = [obj('acc')],
  distinct?: boolean,
): Strategy<A> {
  return registry.create(name, config, {
    space,
    rng: new Rng(seed),
    objectives,
    ...(distinct === undefined ? {} : { distinct }),
  })
}

/** Asks one at a time and tells right away, `n` times (or until nothing is proposed). */
export function drive<A>(
  s: Strategy<A>,
  f: (a: A, fidelity?: number) => Metrics | undefined,
  n: number,
): Proposal<A>[] {
  const out: Proposal<A>[] = []
  for (let i = 0; i < n; i++) {
    const [p] = s.ask(1)
    if (p === undefined) break
    out.push(p)
    const m = f(p.arch, p.fidelity)
    s.tell(p.id, m === undefined ? { status: 'failed', reason: 'x' } : { status: 'complete', metrics: m })
  }
  return out
}
