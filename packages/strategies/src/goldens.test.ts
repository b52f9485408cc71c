import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NasError, Rng } from '@nasjs/core'
import type { Objective } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { builtinStrategies } from './builtins.js'
import { createStrategyRegistry } from './registry.js'
import { syntheticMetrics } from './testing/index.js'
import type { Strategy } from './types.js'

// One golden file per builtin, src/__snapshots__/goldens/<name>.txt. Unlike `toMatchSnapshot()`,
// which silently writes a missing snapshot outside CI, a missing golden fails everywhere; only an
// explicit `-u` writes (or rewrites) them.
const WRITE_COMMAND = 'pnpm --filter @nasjs/strategies exec vitest run src/goldens.test.ts -u'
const dir = new URL('./__snapshots__/goldens/', import.meta.url)
const registry = createStrategyRegistry(builtinStrategies)
const metrics = syntheticMetrics(nb201)

const one: readonly Objective[] = [{ name: 'acc', direction: 'max' }]
const two: readonly Objective[] = [...one, { name: 'lat', direction: 'min' }]

/** With its default config: two objectives for a multi-objective strategy that takes them, else one. */
function create(name: string): Strategy<Nb201Arch> {
  const make = (objectives: readonly Objective[]) =>
    registry.create(name, {}, { space: nb201, rng: new Rng(42), objectives })
  if (registry.get(name).multiObjective !== true) return make(one)
  try {
    return make(two)
  } catch (e) {
    if (e instanceof NasError && e.code === 'CONFIG_INVALID') return make(one) // e.g. REINFORCE's default reward
    throw e
  }
}

/** The first 8 asks with seed 42 on nb201, told synthetic metrics one at a time, one line each. */
function firstAsks(name: string): string {
  const s = create(name)
  const asks: string[] = []
  for (let i = 0; i < 8; i++) {
    const [p] = s.ask(1)
    if (p === undefined) break
    asks.push(`${p.id} ${nb201.format(p.arch)}${p.fidelity === undefined ? '' : ` @${p.fidelity}`}`)
    s.tell(p.id, { status: 'complete', metrics: metrics(p.arch, p.fidelity) })
  }
  expect(asks, `strategy '${name}' stopped proposing before 8 asks`).toHaveLength(8)
  return `${asks.join('\n')}\n`
}

describe('seeded goldens: the first 8 asks with seed 42 on nb201 (told synthetic metrics in between)', () => {
  for (const def of builtinStrategies) {
    it(`${def.name}`, async () => {
      const file = fileURLToPath(new URL(`${def.name}.txt`, dir))
      const writing = expect.getState().snapshotState.snapshotUpdateState === 'all'
      expect(
        writing || existsSync(file),
        `no golden for strategy '${def.name}' (src/__snapshots__/goldens/${def.name}.txt); write it with: ${WRITE_COMMAND}`,
      ).toBe(true)
      await expect(firstAsks(def.name)).toMatchFileSnapshot(
        file,
        `the first asks of '${def.name}' changed; if that is intended, rewrite the goldens with: ${WRITE_COMMAND}`,
      )
    })
  }

  it('has no golden of an unregistered strategy', () => {
    const files = existsSync(dir) ? readdirSync(dir) : []
    const stale = files.filter((f) => !registry.has(f.replace(/\.txt$/, '')))
    expect(stale, `delete these goldens from src/__snapshots__/goldens/: ${stale.join(', ')}`).toEqual([])
  })
})
