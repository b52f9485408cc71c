import { CACHE_MODES, NasError, parseConstraint, parseObjective } from '@nasjs/core'
import type { CacheMode } from '@nasjs/core'
import { z } from 'zod'

/** The options of `nas search` as commander gives them (strings), checked with zod. */
export const SearchFlags = z.object({
  space: z.string(),
  dataset: z.string().optional(),
  strategy: z.string(),
  budget: z.string(),
  seed: z.string(),
  objective: z.array(z.string()).optional(),
  constraint: z.array(z.string()).optional(),
  config: z.string().optional(),
  out: z.string().optional(),
  resume: z.boolean().optional(),
  concurrency: z.string(),
  cache: z.enum(['auto', ...CACHE_MODES] as ['auto', ...CacheMode[]]),
  data: z.string().optional(),
  json: z.boolean().optional(),
  quiet: z.boolean().optional(),
})
export type SearchFlags = z.infer<typeof SearchFlags>

/** What the user asked for: every value checked, and which of them were given on the command line. */
export interface SearchRequest {
  readonly space: string
  readonly dataset: string | undefined
  readonly strategy: string
  readonly budget: number
  readonly seed: number
  readonly objectives: readonly string[] | undefined
  readonly constraints: readonly string[]
  readonly configFile: string | undefined
  readonly out: string | undefined
  readonly resume: boolean
  readonly concurrency: number
  readonly cache: CacheMode | 'auto'
  readonly data: string | undefined
  readonly json: boolean
  readonly quiet: boolean
  /** Options given on the command line (the rest are defaults). */
  readonly given: ReadonlySet<string>
}

/** An integer flag: `BUDGET_INVALID` for --budget, else `CONFIG_INVALID`, naming the text given. */
export function intFlag(name: string, text: string, min: number): number {
  const n = Number(text)
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new NasError({
      code: name === 'budget' ? 'BUDGET_INVALID' : 'CONFIG_INVALID',
      message: `--${name} must be an integer >= ${min}, got '${text}'`,
      value: text,
      allowed: [`integer >= ${min}`],
    })
  }
  return n
}

/** Parse: commander's raw options to a {@link SearchRequest}; nothing is read or written. */
export function parseSearchFlags(raw: unknown, given: (name: string) => boolean): SearchRequest {
  const f = SearchFlags.parse(raw)
  if (f.out !== undefined && f.out.trim() === '') {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: "--out needs a directory path, got ''",
      value: f.out,
      allowed: ['a directory path, e.g. runs/demo'],
    })
  }
  f.objective?.forEach((o) => parseObjective(o))
  f.constraint?.forEach((c) => parseConstraint(c))
  const names = [
    'space',
    'dataset',
    'strategy',
    'budget',
    'seed',
    'objective',
    'constraint',
    'config',
    'concurrency',
    'cache',
  ]
  return {
    space: f.space,
    dataset: f.dataset,
    strategy: f.strategy,
    budget: intFlag('budget', f.budget, 1),
    seed: intFlag('seed', f.seed, 0),
    objectives: f.objective,
    constraints: f.constraint ?? [],
    configFile: f.config,
    out: f.out,
    resume: f.resume === true,
    concurrency: intFlag('concurrency', f.concurrency, 1),
    cache: f.cache,
    data: f.data,
    json: f.json === true,
    quiet: f.quiet === true,
    given: new Set(names.filter(given)),
  }
}
