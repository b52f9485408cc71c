import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fc, test } from '@fast-check/vitest'
import { Rng } from '@nasjs/core'
import type { Metrics } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import type { Nb201Arch } from '@nasjs/search-space'
import { afterAll, describe, expect } from 'vitest'
import { compareFitness } from './base.js'
import { builtinStrategies } from './builtins.js'
import { runSearch } from './driver/run-search.js'
import { fileStorage } from './node/file-storage.js'
import { createStrategyRegistry } from './registry.js'
import { conditionalSpace, createDecisionSpace, syntheticMetrics } from './testing/index.js'

const registry = createStrategyRegistry()
const dir = mkdtempSync(join(tmpdir(), 'nasjs-prop-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let runs = 0
// every builtin, from the registry list (multi-objective ones run with one objective here)
const names = builtinStrategies.map((d) => d.name)
/** Strategies whose proposals carry no fidelity, for the journal property. */
const fullFidelity = builtinStrategies.filter((d) => d.requiresFidelity !== true).map((d) => d.name)
/** A small top fidelity where the config has one, so that 40 asks reach the upper rungs. */
const smallConfig = (name: string): Record<string, unknown> =>
  registry.get(name).configSchema.safeParse({ maxFidelity: 9 }).success ? { maxFidelity: 9 } : {}

describe('properties', () => {
  test.prop([
    fc.integer({ min: 1, max: 4 }),
    fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
  ])(
    'grid search proposes every architecture of any small (conditional) tree exactly once',
    (branch, sizes) => {
      // the size of decision k depends on the previous choice: a conditional tree
      const space = createDecisionSpace('prop', (p) =>
        p.length < sizes.length
          ? { name: `d${p.length}`, size: ((sizes[p.length]! + (p[p.length - 1] ?? 0)) % branch) + 1 }
          : undefined,
      )
      const s = registry.create(
        'grid',
        {},
        { space, rng: new Rng(0), objectives: [{ name: 'acc', direction: 'max' }] },
      )
      const seen = new Set<string>()
      for (;;) {
        const [p] = s.ask(1)
        if (p === undefined) break
        seen.add(space.hash(p.arch))
        s.tell(p.id, { status: 'complete', metrics: { acc: 0 } })
      }
      expect(BigInt(seen.size)).toBe(space.size())
    },
  )

  test.prop([fc.constantFrom(...names), fc.integer({ min: 0, max: 1e6 })], { numRuns: 30 })(
    'every builtin proposes valid architectures of a conditional space with consecutive ids, for any seed',
    (name, seed) => {
      const space = conditionalSpace()
      const m = syntheticMetrics(space)
      const s = registry.create(name, smallConfig(name), {
        space,
        rng: new Rng(seed),
        objectives: [{ name: 'acc', direction: 'max' }],
      })
      let next = 0
      for (let i = 0; i < 40; i++) {
        const [p] = s.ask(1)
        if (p === undefined) break
        expect(p.id).toBe(next++)
        expect(space.check(p.arch)).toBeUndefined()
        s.tell(p.id, { status: 'complete', metrics: m(p.arch, p.fidelity) })
      }
    },
  )

  test.prop([
    fc.record({
      violation: fc.constantFrom(0, 0, 1, 2.5),
      value: fc.double({ noNaN: true, min: -1e6, max: 1e6 }),
    }),
    fc.record({
      violation: fc.constantFrom(0, 0, 1, 2.5),
      value: fc.double({ noNaN: true, min: -1e6, max: 1e6 }),
    }),
  ])('compareFitness is antisymmetric and ranks feasible first', (a, b) => {
    expect(Math.sign(compareFitness(a, b)) + Math.sign(compareFitness(b, a))).toBe(0)
    if (a.violation === 0 && b.violation > 0) expect(compareFitness(a, b)).toBeGreaterThan(0)
  })

  test.prop([fc.constantFrom(...fullFidelity), fc.double({ min: 0, max: 1, noNaN: true })], {
    numRuns: 25,
  })(
    'a journal cut at any byte (a crash) resumes to the same trials as an uninterrupted run',
    async (name, cut) => {
      const m = syntheticMetrics(nb201)
      const make = () =>
        registry.create(
          name,
          {},
          { space: nb201, rng: new Rng(5), objectives: [{ name: 'acc', direction: 'max' }] },
        )
      const evaluator = (a: Nb201Arch): Promise<Metrics> => Promise.resolve(m(a))
      const base = {
        space: nb201,
        evaluator,
        objectives: ['acc:max'] as const,
        budget: { trials: 40 },
        seed: 5,
        snapshotEvery: 6,
      }
      const run = ++runs // unique file names: a pair (name, cut) may repeat
      const full = join(dir, `full-${run}.jsonl`)
      const whole = await runSearch({ ...base, strategy: make(), storage: fileStorage(full) })
      const text = readFileSync(full, 'utf8')
      const firstNl = text.indexOf('\n') + 1
      const at = firstNl + Math.floor(cut * (text.length - firstNl)) // keep at least the header
      const cutPath = join(dir, `cut-${run}.jsonl`)
      writeFileSync(cutPath, text.slice(0, at))
      const resumed = await runSearch({
        ...base,
        strategy: make(),
        storage: fileStorage(cutPath),
        resume: true,
      })
      const key = (t: { id: number; hash: string; outcome?: unknown }) => [
        t.id,
        t.hash,
        JSON.stringify(t.outcome),
      ]
      expect(resumed.trials.map(key)).toEqual(whole.trials.map(key))
    },
  )
})
