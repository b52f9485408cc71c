import { NasError, formatAllowed, formatObjective, unknownName } from '@nasjs/core'
import type { Constraint, Objective } from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import { z } from 'zod'
import type { Rng } from '@nasjs/core'
import { builtinStrategies } from './builtins.js'
import type { Strategy, StrategyDefinition } from './types.js'

/**
 * One config field as `describe()` lists it.
 * @since 0.1.0
 */
export interface ConfigFieldDescription {
  readonly name: string
  /** The JSON Schema type (or a short rendering of it), e.g. `integer >= 1`. */
  readonly type: string
  readonly default?: unknown
  readonly description?: string
}

/**
 * What `describe()` returns per strategy (the CLI's `nas strategies` prints it).
 * @since 0.1.0
 */
export interface StrategyDescription {
  readonly name: string
  readonly description: string
  readonly multiObjective: boolean
  readonly requiresFidelity: boolean
  readonly references: readonly string[]
  readonly fields: readonly ConfigFieldDescription[]
}

/**
 * What {@link StrategyRegistry.create} needs besides the name and config.
 * @since 0.1.0
 */
export interface CreateStrategyOptions<A> {
  readonly space: SearchSpace<A>
  readonly rng: Rng
  readonly objectives: readonly Objective[]
  readonly constraints?: readonly Constraint[]
  /** Free per-architecture statistics for predictor-guided strategies (see {@link StrategyContext}). */
  readonly features?: (arch: A) => readonly number[]
  /** Propose each architecture at most once (see {@link StrategyContext.distinct}). */
  readonly distinct?: boolean
}

/**
 * The config input type of every definition in `D` whose name is a literal type, by name: what
 * {@link StrategyRegistry.create} checks a config against. Definitions typed with a plain `string`
 * name are left out (their configs are checked at run time only).
 * @since 0.1.0
 * @category models
 */
export type StrategyConfigs<D extends readonly StrategyDefinition<z.ZodType, string>[]> = {
  [K in D[number] as string extends K['name'] ? never : K['name']]: z.input<K['configSchema']>
}

/**
 * A lookup of strategy definitions by name. `M` maps the names known at compile time to their config
 * input types (see {@link StrategyConfigs}): `create('rea', { populationSize: 'x' })` is a type error,
 * and every name, known or not, is still checked at run time.
 * @since 0.1.0
 * @category models
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- {} = no names known at compile time
export interface StrategyRegistry<M extends object = {}> {
  /** Adds a definition; a name that is already registered is a `DUPLICATE_NAME` NasError. */
  register(def: StrategyDefinition): void
  /** The definition; an unknown name is a `NOT_REGISTERED` NasError listing the known names. */
  get(name: string): StrategyDefinition
  has(name: string): boolean
  /** The names in registration order. */
  names(): string[]
  /** Every strategy with its config fields and their defaults. */
  describe(): StrategyDescription[]
  /** Parses a config (`undefined` = all defaults); bad fields are a `CONFIG_INVALID` NasError naming them. */
  parseConfig(name: string, config?: unknown): unknown
  /** The JSON Schema of a strategy's config (`z.toJSONSchema`, input side: defaults are optional). */
  configJsonSchema(name: string): Record<string, unknown>
  /** Parses the config and creates the strategy; a name known at compile time has its config type-checked. */
  create<N extends keyof M & string, A>(
    name: N,
    config: M[N] | undefined,
    opts: CreateStrategyOptions<A>,
  ): Strategy<A>
  /** A name not known at compile time (e.g. from a command line): its config is checked at run time. */
  create<A, N extends string = string>(
    name: N & (N extends keyof M ? never : unknown),
    config: unknown,
    opts: CreateStrategyOptions<A>,
  ): Strategy<A>
}

/**
 * Parses `config` with a definition's schema, turning zod issues into one `CONFIG_INVALID` NasError.
 * @since 0.1.0
 */
export function parseStrategyConfig(def: StrategyDefinition, config: unknown): unknown {
  const r = def.configSchema.safeParse(config ?? {})
  if (r.success) return r.data
  const issue = r.error.issues[0]!
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))
  const fields = Object.keys(jsonSchemaOf(def).properties ?? {})
  const where = path.length > 0 ? `field '${path.join('.')}'` : 'config'
  const unknownKeys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : ''
  return fail(
    new NasError({
      code: 'CONFIG_INVALID',
      message: `invalid config for strategy '${def.name}': ${where}: ${issue.message}${unknownKeys}; fields are ${formatAllowed(fields)}`,
      value: config,
      allowed: fields,
      path,
    }),
  )
}

function fail(e: NasError): never {
  throw e
}

interface JsonSchemaObject {
  properties?: Record<string, Record<string, unknown>>
  [k: string]: unknown
}

function jsonSchemaOf(def: StrategyDefinition): JsonSchemaObject {
  return z.toJSONSchema(def.configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaObject
}

function renderType(s: Record<string, unknown>): string {
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((x) => JSON.stringify(x)).join(' | ')
  if (s.const !== undefined) return JSON.stringify(s.const)
  if (Array.isArray(s.anyOf)) return (s.anyOf as Record<string, unknown>[]).map(renderType).join(' | ')
  if (Array.isArray(s.oneOf)) return (s.oneOf as Record<string, unknown>[]).map(renderType).join(' | ')
  let t = typeof s.type === 'string' ? s.type : 'any'
  if (t === 'array' && s.items !== undefined) t = `${renderType(s.items as Record<string, unknown>)}[]`
  if (t === 'object' && s.properties !== undefined) {
    const props = s.properties as Record<string, Record<string, unknown>>
    t = `{ ${Object.entries(props)
      .map(([k, v]) => `${k}: ${renderType(v)}`)
      .join(', ')} }`
  }
  const bounds: string[] = []
  const big = Number.MAX_SAFE_INTEGER
  if (typeof s.minimum === 'number' && s.minimum > -big) bounds.push(`>= ${s.minimum}`)
  if (typeof s.exclusiveMinimum === 'number') bounds.push(`> ${s.exclusiveMinimum}`)
  if (typeof s.maximum === 'number' && s.maximum < big) bounds.push(`<= ${s.maximum}`)
  if (typeof s.exclusiveMaximum === 'number') bounds.push(`< ${s.exclusiveMaximum}`)
  return bounds.length > 0 ? `${t} ${bounds.join(', ')}` : t
}

/**
 * Creates a strategy registry, by default over the builtins. Registration is explicit: importing
 * this package registers nothing anywhere.
 *
 * @example
 * ```ts
 * const registry = createStrategyRegistry()
 * registry.names() // ['random', 'grid', 'rea', 'ls', 'nsga2', 'mcts', 'reinforce', 'beam', 'sh', 'hyperband', 'sa']
 * const rea = registry.create('rea', { populationSize: 20 }, { space: nb201, rng: new Rng(1), objectives })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export function createStrategyRegistry(): StrategyRegistry<StrategyConfigs<typeof builtinStrategies>>
export function createStrategyRegistry<const D extends readonly StrategyDefinition<z.ZodType, string>[]>(
  defs: D,
): StrategyRegistry<StrategyConfigs<D>>
export function createStrategyRegistry(
  defs: readonly StrategyDefinition[] = builtinStrategies,
): StrategyRegistry {
  const byName = new Map<string, StrategyDefinition>()
  const registry: StrategyRegistry = {
    register(def) {
      if (byName.has(def.name)) {
        throw new NasError({
          code: 'DUPLICATE_NAME',
          message: `a strategy named '${def.name}' is already registered`,
          value: def.name,
          allowed: [...byName.keys()],
        })
      }
      byName.set(def.name, def)
    },
    get(name) {
      const d = byName.get(name)
      if (d === undefined) throw unknownName('strategy', String(name), [...byName.keys()])
      return d
    },
    has: (name) => byName.has(name),
    names: () => [...byName.keys()],
    describe: () =>
      [...byName.values()].map((def) => {
        const props = jsonSchemaOf(def).properties ?? {}
        return {
          name: def.name,
          description: def.description,
          multiObjective: def.multiObjective === true,
          requiresFidelity: def.requiresFidelity === true,
          references: def.references ?? [],
          fields: Object.entries(props).map(([name, s]) => ({
            name,
            type: renderType(s),
            ...(s.default !== undefined ? { default: s.default } : {}),
            ...(typeof s.description === 'string' ? { description: s.description } : {}),
          })),
        }
      }),
    parseConfig: (name, config) => parseStrategyConfig(registry.get(name), config),
    configJsonSchema: (name) => jsonSchemaOf(registry.get(name)),
    create<A>(name: string, config: unknown, opts: CreateStrategyOptions<A>): Strategy<A> {
      const def = registry.get(name)
      const parsed = parseStrategyConfig(def, config)
      const objectives = opts.objectives
      if (objectives.length === 0) {
        throw new NasError({
          code: 'OBJECTIVE_INVALID',
          message: `strategy '${name}' needs at least one objective`,
        })
      }
      if (objectives.length > 1 && def.multiObjective !== true) {
        const multi = [...byName.values()].filter((d) => d.multiObjective === true).map((d) => d.name)
        throw new NasError({
          code: 'OBJECTIVE_INVALID',
          message: `strategy '${name}' optimises one objective but got ${objectives.length} (${objectives.map(formatObjective).join(', ')}); use one objective or a multi-objective strategy: ${formatAllowed(multi)}`,
          value: objectives.map(formatObjective),
          allowed: multi,
        })
      }
      return def.create(parsed, {
        space: opts.space,
        rng: opts.rng,
        objectives,
        constraints: opts.constraints ?? [],
        ...(opts.features !== undefined ? { features: opts.features } : {}),
        ...(opts.distinct !== undefined ? { distinct: opts.distinct } : {}),
      })
    },
  }
  for (const d of defs) registry.register(d)
  return registry
}
