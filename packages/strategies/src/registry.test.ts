import { NasError, Rng } from '@nasjs/core'
import { nb201 } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { builtinStrategies } from './builtins.js'
import { createStrategyRegistry } from './registry.js'
import { randomSearch } from './strategies/random.js'
import type { StrategyDefinition } from './types.js'

const objectives = [{ name: 'acc', direction: 'max' as const }]
// the registry's contents come from builtinStrategies: no list of names is kept here
const names = builtinStrategies.map((d) => d.name)

function caught(f: () => unknown): NasError {
  try {
    f()
  } catch (e) {
    if (e instanceof NasError) return e
    throw e
  }
  throw new Error('expected a NasError')
}

describe('strategy registry', () => {
  it('holds the builtins by default and lists the names', () => {
    expect(createStrategyRegistry().names()).toEqual(names)
  })

  it('rejects duplicate names', () => {
    const r = createStrategyRegistry()
    expect(() => r.register(randomSearch)).toThrow(expect.objectContaining({ code: 'DUPLICATE_NAME' }))
    expect(() => createStrategyRegistry([randomSearch, randomSearch])).toThrow(NasError)
  })

  it('lists the known names on a miss', () => {
    const e = caught(() => createStrategyRegistry().get('reaa'))
    expect(e).toMatchObject({ code: 'NOT_REGISTERED', value: 'reaa' })
    expect(e.allowed).toEqual(names)
    for (const n of names) expect(e.message).toContain(`'${n}'`)
  })

  it('registers strategies from other packages the same way', () => {
    const Config = z.object({ k: z.number().int().default(3) }).strict()
    const mine: StrategyDefinition<typeof Config> = {
      name: 'mine',
      description: 'test',
      configSchema: Config,
      create: (config, ctx) =>
        randomSearch.create({}, ctx) && { ...randomSearch.create({}, ctx), name: 'mine', config },
    }
    const r = createStrategyRegistry([...builtinStrategies, mine])
    expect(r.names()).toContain('mine')
    expect(r.create('mine', {}, { space: nb201, rng: new Rng(1), objectives }).config).toEqual({ k: 3 })
  })

  it('turns bad configs into CONFIG_INVALID naming the field and the fields', () => {
    const r = createStrategyRegistry()
    expect(() => r.parseConfig('rea', { populationSize: -1 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', path: ['populationSize'] }),
    )
    const e = caught(() => r.parseConfig('rea', { populaton: 5 }))
    expect(e.message).toMatch(/populaton/)
    expect(e.allowed).toEqual(['populationSize', 'sampleSize'])
    expect(r.parseConfig('rea', undefined)).toEqual({ populationSize: 30, sampleSize: 10 })
  })

  it('rejects several objectives for a single-objective strategy', () => {
    const two = [...objectives, { name: 'lat', direction: 'min' as const }]
    const multi = builtinStrategies.filter((d) => d.multiObjective === true).map((d) => d.name)
    expect(() =>
      createStrategyRegistry().create('rea', {}, { space: nb201, rng: new Rng(1), objectives: two }),
    ).toThrow(expect.objectContaining({ code: 'OBJECTIVE_INVALID', allowed: multi }))
  })

  it('describes every strategy with its fields and defaults', () => {
    const d = createStrategyRegistry().describe()
    expect(d.map((x) => x.name)).toEqual(names)
    d.forEach((x, i) => {
      const def = builtinStrategies[i]!
      expect(x.description).toBe(def.description)
      expect(x.multiObjective).toBe(def.multiObjective === true)
      expect(x.requiresFidelity).toBe(def.requiresFidelity === true)
      expect(x.references).toEqual(def.references ?? [])
    })
    const rea = d.find((x) => x.name === 'rea')!
    expect(rea.fields).toEqual([
      {
        name: 'populationSize',
        type: 'integer >= 2',
        default: 30,
        description: 'P: models kept alive (the oldest dies)',
      },
      {
        name: 'sampleSize',
        type: 'integer >= 1',
        default: 10,
        description: 'S: tournament size; the best of S random members is the parent',
      },
    ])
    for (const s of d) expect(s.description.length).toBeGreaterThan(10)
  })

  it('exports config JSON Schemas', () => {
    expect(createStrategyRegistry().configJsonSchema('rea')).toMatchInlineSnapshot(`
      {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "additionalProperties": false,
        "properties": {
          "populationSize": {
            "default": 30,
            "description": "P: models kept alive (the oldest dies)",
            "maximum": 9007199254740991,
            "minimum": 2,
            "type": "integer",
          },
          "sampleSize": {
            "default": 10,
            "description": "S: tournament size; the best of S random members is the parent",
            "maximum": 9007199254740991,
            "minimum": 1,
            "type": "integer",
          },
        },
        "type": "object",
      }
    `)
  })
})
