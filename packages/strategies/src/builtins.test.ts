import { readFileSync, readdirSync } from 'node:fs'
import { nb101, nb201, ofaMbv3 } from '@nasjs/search-space'
import { describe, expect, it } from 'vitest'
import { builtinStrategies } from './builtins.js'
import { createStrategyRegistry } from './registry.js'
import type { StrategyDescription } from './registry.js'
import { conditionalSpace, describeStrategyConformance, gridSpace } from './testing/index.js'
import type { ConformanceOptions } from './testing/index.js'
import type { StrategyDefinition } from './types.js'

// Everything here is derived from `builtinStrategies`: a new strategy file plus its line in
// builtins.ts is covered by the conformance suite, the goldens and the README table check.

// toy fixed and conditional spaces, NB201, and two conditional spaces of @nasjs/search-space:
// OFA-MobileNetV3 (elastic depth: variable length) and NAS-Bench-101 (graph cells)
const spaces = [
  { space: gridSpace(4, 4) },
  { space: conditionalSpace() },
  { space: nb201 },
  { space: ofaMbv3 },
  { space: nb101 },
]
const twoObjectives: ConformanceOptions['objectives'] = [
  { name: 'acc', direction: 'max' },
  { name: 'lat', direction: 'min' },
]

/**
 * Optional per-strategy conformance options: smaller configs so that 40 rounds reach the
 * interesting phases, and what the definition's flags cannot tell. A strategy without an entry runs
 * with its defaults (two objectives when it is `multiObjective`).
 */
const overrides: Record<string, Omit<ConformanceOptions, 'spaces'>> = {
  grid: { seedSensitive: false },
  rea: { config: { populationSize: 8, sampleSize: 3 } },
  ls: { config: { initSamples: 4 } },
  nsga2: { config: { populationSize: 8 } },
  beam: { config: { beamWidth: 4, groups: 2 } },
  sh: { config: { minFidelity: 1, maxFidelity: 9, eta: 3 } },
  hyperband: { config: { minFidelity: 1, maxFidelity: 9, eta: 3 } },
  reinforce: { config: { reward: { kind: 'mnasnet', accuracy: 'acc', latency: 'lat', target: 5 } } },
}
/** Further runs with other options (REINFORCE also with its default, single-objective reward). */
const extraRuns: Record<string, Omit<ConformanceOptions, 'spaces'>[]> = {
  reinforce: [{ objectives: [{ name: 'acc', direction: 'max' }] }],
}

const names = builtinStrategies.map((d) => d.name)

function isDefinition(x: unknown): x is StrategyDefinition {
  const d = x as Partial<StrategyDefinition> | null
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof d.name === 'string' &&
    typeof d.create === 'function' &&
    typeof (d.configSchema as { safeParse?: unknown } | undefined)?.safeParse === 'function'
  )
}

/** A markdown table cell: pipes escaped. */
const cell = (s: string): string => s.replace(/\|/g, '\\|')

/** The strategies table of packages/strategies/README.md, generated from the registry. */
function strategiesTable(ds: readonly StrategyDescription[]): string {
  const rows = ds.map((d) => {
    const objectives = `${d.multiObjective ? 'several' : 'one'}${d.requiresFidelity ? ', needs fidelities' : ''}`
    const config =
      d.fields.length === 0
        ? '`{}`'
        : d.fields
            .map((f) => `\`${f.name}${f.default === undefined ? '?' : `: ${JSON.stringify(f.default)}`}\``)
            .join(', ')
    return `| \`${d.name}\` | ${objectives} | ${cell(d.description)} | ${cell(config)} |`
  })
  return ['| name | objectives | what | config (defaults) |', '| --- | --- | --- | --- |', ...rows].join('\n')
}

/** Ignores what prettier changes in a table (alignment padding, separator length). */
const normalise = (table: string): string[] =>
  table
    .trim()
    .split('\n')
    .map((l) =>
      l
        .trim()
        .replace(/\s+/g, ' ')
        .replace(/ ?\| ?/g, '|')
        .replace(/:?-{3,}:?/g, '---'),
    )

const START = '<!-- builtin-strategies:start -->'
const END = '<!-- builtin-strategies:end -->'

describe('builtin strategies', () => {
  it('have unique lower-case names, a description and a parsable default config', () => {
    expect(new Set(names).size).toBe(names.length)
    for (const d of builtinStrategies) {
      expect(d.name).toMatch(/^[a-z][a-z0-9-]*$/)
      expect(d.description.length).toBeGreaterThan(10)
      expect(d.configSchema.safeParse({}).success).toBe(true)
    }
  })

  it('include every strategy definition exported from src/strategies/', async () => {
    const dir = new URL('./strategies/', import.meta.url)
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !/\.(test|test-d|bench)\.ts$/.test(f))
    const missing: string[] = []
    for (const f of files) {
      const mod = (await import(new URL(f, dir).href)) as Record<string, unknown>
      for (const [exported, value] of Object.entries(mod)) {
        if (isDefinition(value) && !(builtinStrategies as readonly StrategyDefinition[]).includes(value))
          missing.push(`${exported} (${f})`)
      }
    }
    expect(missing, `add these to builtinStrategies in src/builtins.ts: ${missing.join(', ')}`).toEqual([])
  })

  it('conformance options only name registered strategies', () => {
    for (const name of [...Object.keys(overrides), ...Object.keys(extraRuns)]) expect(names).toContain(name)
  })

  it('are the strategies table of the package README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const from = readme.indexOf(START)
    const to = readme.indexOf(END)
    expect(from >= 0 && to > from, `README.md needs the markers ${START} and ${END}`).toBe(true)
    const expected = strategiesTable(createStrategyRegistry(builtinStrategies).describe())
    expect(
      normalise(readme.slice(from + START.length, to)),
      `packages/strategies/README.md lists other strategies than the registry. Put this between the markers, then run ` +
        `\`npx prettier --write packages/strategies/README.md\`:\n\n${expected}\n`,
    ).toEqual(normalise(expected))
  })
})

for (const def of builtinStrategies) {
  const options = {
    ...(def.multiObjective === true ? { objectives: twoObjectives } : {}),
    ...overrides[def.name],
  }
  describeStrategyConformance(def, { spaces, ...options })
  for (const extra of extraRuns[def.name] ?? []) describeStrategyConformance(def, { spaces, ...extra })
}
