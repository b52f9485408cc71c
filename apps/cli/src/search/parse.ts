import { CACHE_MODES, NasError, parseConstraint, parseObjective } from '@nasjs/core'
import type { CacheMode } from '@nasjs/core'
import { QUANT_FORMATS, type QuantFormat } from '@nasjs/search-space'
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
  evaluator: z.enum(['table', 'train', 'proxy', 'supernet']),
  supernet: z.string().optional(),
  calibration: z.string().optional(),
  quant: z.string().optional(),
  quantEdges: z.string().optional(),
  proxy: z.string().optional(),
  proxyWeights: z.string().optional(),
  lut: z.string().optional(),
  helpPredictor: z.string().optional(),
  helpDevice: z.string().optional(),
  mnas: z.string().optional(),
  epochs: z.string().optional(),
  trainSize: z.string().optional(),
  validSize: z.string().optional(),
  testSize: z.string().optional(),
  width: z.string().optional(),
  cells: z.string().optional(),
  batchSize: z.string().optional(),
  lr: z.string().optional(),
  trainConfig: z.string().optional(),
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
  /**
   * `table`: look results up in a benchmark; `train`: build and train every architecture on `data`;
   * `proxy`: score every untrained architecture with zero-cost proxies on a minibatch of `data`.
   */
  readonly evaluator: Evaluator
  /** The training flags (with `evaluator: 'train'`; width, cells and batch size with `proxy` too). */
  readonly training: TrainingFlags
  /** The proxy flags (with `evaluator: 'proxy'`). */
  readonly proxy: ProxyFlags
  /** The supernet flags (with `evaluator: 'supernet'`). */
  readonly supernet: SupernetFlags
  /** The latency table of `latency.lut` (`--lut`) and the MnasNet reward (`--mnas`), as given. */
  readonly hardware: {
    readonly lut?: string
    readonly helpPredictor?: string
    readonly helpDevice?: string
    readonly mnas?: string
  }
  /** Options given on the command line (the rest are defaults). */
  readonly given: ReadonlySet<string>
}

/** The kinds of evaluator of `nas search`. */
export type Evaluator = 'table' | 'train' | 'proxy' | 'supernet'

/** The flags of a supernet search, as given. */
export interface SupernetFlags {
  /** The trained supernet's directory (`nas supernet train --out`). */
  readonly dir?: string
  /** Training images each subnet's BatchNorm is recalibrated on. */
  readonly calibration?: number
  /** Search quantization policies with the subnets: the formats each block chooses among. */
  readonly quant?: readonly QuantFormat[]
  /** The formats of the stem, the first block and the head (`weights:activations`). */
  readonly quantEdges?: string
}

/** The flags that only make sense with `--evaluator supernet`. */
export const SUPERNET_FLAGS = ['supernet', 'calibration', 'quant', 'quantEdges'] as const

/** The suffix of `--space` that asks a supernet search for quantization policies too. */
export const QUANT_SPACE_SUFFIX = '*quant-policy'

/** `--quant int4,int8` (or `--formats`): known formats, none twice. */
export function quantFormatsFlag(text: string, flag = 'quant'): QuantFormat[] {
  const list = text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
  for (const f of list) {
    if (!(QUANT_FORMATS as readonly string[]).includes(f)) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `--${flag}: unknown format '${f}'; expected a comma-separated list of ${QUANT_FORMATS.join(', ')}`,
        value: f,
        allowed: [...QUANT_FORMATS],
      })
    }
  }
  if (list.length === 0 || new Set(list).size !== list.length) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--${flag} needs a comma-separated list of distinct formats, e.g. int4,int8; got '${text}'`,
      value: text,
      allowed: [...QUANT_FORMATS],
    })
  }
  return list as QuantFormat[]
}

/** The training flags a supernet search uses too (the data's splits and the evaluation batch). */
export const SUPERNET_SHARED_FLAGS = ['trainSize', 'validSize', 'testSize', 'batchSize'] as const

/** The flags of a proxy search, as given. */
export interface ProxyFlags {
  readonly proxy?: string
  readonly proxyWeights?: string
}

/** The flags that only make sense with `--evaluator proxy`. */
export const PROXY_FLAGS = ['proxy', 'proxyWeights'] as const

/** The training flags a proxy search uses too (the network's size and the minibatch's). */
export const SHARED_FLAGS = ['width', 'cells', 'batchSize'] as const

/** The flags of a training search, checked; absent ones take the defaults of the plan. */
export interface TrainingFlags {
  readonly epochs?: number
  readonly trainSize?: number
  readonly validSize?: number
  readonly testSize?: number
  readonly width?: number
  readonly cells?: number
  readonly batchSize?: number
  readonly lr?: number
  readonly configFile?: string
}

/** The training flags that only make sense with `--evaluator train`. */
export const TRAINING_FLAGS = [
  'epochs',
  'trainSize',
  'validSize',
  'testSize',
  'width',
  'cells',
  'batchSize',
  'lr',
  'trainConfig',
] as const

/** The flags of an evaluator's or the hardware's setup, which a resumed run keeps. */
export const SETUP_FLAGS = [
  ...TRAINING_FLAGS,
  ...PROXY_FLAGS,
  ...SUPERNET_FLAGS,
  'lut',
  'helpPredictor',
  'helpDevice',
  'mnas',
] as const

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/** A positive number flag (`--lr`): `CONFIG_INVALID` naming the text given. */
export function positiveFlag(name: string, text: string): number {
  const n = Number(text)
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--${name} must be a number > 0, got '${text}'`,
      value: text,
      allowed: ['number > 0'],
    })
  }
  return n
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

/** The metrics that take a file: `latency.lut:<table file>` and `latency.help:<device file>`. */
const METRIC_FILES = { 'latency.lut': 'lut', 'latency.help': 'helpDevice' } as const
type MetricFileFlag = (typeof METRIC_FILES)[keyof typeof METRIC_FILES]

/**
 * `latency.lut:<file>` and `latency.help:<device>` in `--objective` and `--constraint`: the metric
 * (`latency.lut`, `latency.help`) with its file taken out, as `--lut <file>` / `--help-device <file>`
 * would give it. `latency.lut:lut.json:min`, `latency.lut:lut.json<=5`; `latency.lut:min` names no file.
 * One file per metric in a search; a flag that names another is a `CONFIG_INVALID` error.
 */
export function takeMetricFiles(
  objectives: readonly string[] | undefined,
  constraints: readonly string[] | undefined,
  flags: Partial<Record<MetricFileFlag, string>>,
): {
  objectives: string[] | undefined
  constraints: string[] | undefined
  files: Partial<Record<MetricFileFlag, string>>
  named: Set<MetricFileFlag>
} {
  const files: Partial<Record<MetricFileFlag, string>> = { ...flags }
  const named = new Set<MetricFileFlag>()
  const take = (metric: keyof typeof METRIC_FILES, file: string, text: string) => {
    const flag = METRIC_FILES[metric]
    const path = file.trim()
    if (path === '') {
      throw new NasError({
        code: 'OBJECTIVE_INVALID',
        message: `'${text}' names no file after ${metric}:`,
        value: text,
        allowed: [`${metric}:<file>:min`, `${metric}:min`],
      })
    }
    const before = files[flag]
    if (before !== undefined && before !== path) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `${metric} is given two files, ${before} and ${path}; a search reads one`,
        value: [before, path],
      })
    }
    files[flag] = path
    named.add(flag)
  }
  const outObjectives = objectives?.map((text) => {
    const m = /^\s*(latency\.(?:lut|help)):(.*)$/.exec(text)
    if (m === null) return text
    const metric = m[1] as keyof typeof METRIC_FILES
    const rest = m[2]!.trim()
    if (rest === 'min' || rest === 'max') return text
    const d = /^(.*):\s*(min|max)$/.exec(rest)
    take(metric, d === null ? rest : d[1]!, text)
    return d === null ? metric : `${metric}:${d[2]!}`
  })
  const outConstraints = constraints?.map((text) => {
    const m = /^\s*(latency\.(?:lut|help)):(.*?)\s*(<=|>=|<|>)([^<>=]*)$/.exec(text)
    if (m === null) return text
    const metric = m[1] as keyof typeof METRIC_FILES
    take(metric, m[2]!, text)
    return `${metric}${m[3]!}${m[4]!}`
  })
  return { objectives: outObjectives, constraints: outConstraints, files, named }
}

/** Parse: commander's raw options to a {@link SearchRequest}; nothing is read or written. */
export function parseSearchFlags(raw: unknown, flagGiven: (name: string) => boolean): SearchRequest {
  const parsed = SearchFlags.parse(raw)
  const metricFiles = takeMetricFiles(parsed.objective, parsed.constraint, {
    ...(parsed.lut === undefined ? {} : { lut: parsed.lut }),
    ...(parsed.helpDevice === undefined ? {} : { helpDevice: parsed.helpDevice }),
  })
  const f: SearchFlags = {
    ...parsed,
    ...(metricFiles.objectives === undefined ? {} : { objective: metricFiles.objectives }),
    ...(metricFiles.constraints === undefined ? {} : { constraint: metricFiles.constraints }),
    ...metricFiles.files,
  }
  const given = (name: string) => flagGiven(name) || metricFiles.named.has(name as MetricFileFlag)
  if (f.out !== undefined && f.out.trim() === '') {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: "--out needs a directory path, got ''",
      value: f.out,
      allowed: ['a directory path, e.g. runs/demo'],
    })
  }
  f.objective?.forEach((o) => parseObjective(o))
  if (f.resume !== true) {
    if (f.evaluator === 'supernet') {
      const stray = [...TRAINING_FLAGS, ...PROXY_FLAGS].filter(
        (k) => f[k] !== undefined && !(SUPERNET_SHARED_FLAGS as readonly string[]).includes(k),
      )
      if (stray.length > 0) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `--${kebab(stray[0]!)} does not apply to a supernet search: its subnets share the trained supernet's weights (the data's sizes, --train-size --valid-size --test-size, and --batch-size do apply)`,
          value: stray.map((k) => `--${kebab(k)}`),
          allowed: SUPERNET_SHARED_FLAGS.map((k) => `--${kebab(k)}`),
        })
      }
      if (f.supernet === undefined) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: '--evaluator supernet needs --supernet <dir>, a supernet trained with nas supernet train',
          value: undefined,
          allowed: ['--supernet <dir>'],
        })
      }
    } else {
      const supernetStray = SUPERNET_FLAGS.filter((k) => f[k] !== undefined)
      if (supernetStray.length > 0) {
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: `--${kebab(supernetStray[0]!)} is a supernet option; add --evaluator supernet (or run nas supernet search) to search the subnets of a trained supernet`,
          value: supernetStray.map((k) => `--${kebab(k)}`),
          allowed: ['--evaluator supernet'],
        })
      }
      const stray =
        f.evaluator === 'train'
          ? PROXY_FLAGS.filter((k) => f[k] !== undefined)
          : f.evaluator === 'proxy'
            ? TRAINING_FLAGS.filter(
                (k) => f[k] !== undefined && !(SHARED_FLAGS as readonly string[]).includes(k),
              )
            : [...TRAINING_FLAGS, ...PROXY_FLAGS].filter((k) => f[k] !== undefined)
      if (stray.length > 0) {
        const proxyFlag = (PROXY_FLAGS as readonly string[]).includes(stray[0]!)
        const shared = (SHARED_FLAGS as readonly string[]).includes(stray[0]!)
        const wants = proxyFlag ? 'proxy' : 'train'
        throw new NasError({
          code: 'CONFIG_INVALID',
          message: proxyFlag
            ? `--${kebab(stray[0]!)} is a proxy option; add --evaluator proxy to score every architecture with zero-cost proxies`
            : shared
              ? `--${kebab(stray[0]!)} sizes the network that is trained or scored; add --evaluator train or --evaluator proxy`
              : `--${kebab(stray[0]!)} is a training option; ${f.evaluator === 'proxy' ? 'a proxy search trains nothing (use --evaluator train)' : 'add --evaluator train to train every architecture'}`,
          value: stray.map((k) => `--${kebab(k)}`),
          allowed: shared ? ['--evaluator train', '--evaluator proxy'] : [`--evaluator ${wants}`],
        })
      }
    }
  }
  if (f.evaluator !== 'table' && f.dataset !== undefined) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--dataset picks a benchmark's dataset; with --evaluator ${f.evaluator} the data is --data (fashion-mnist, digits, a CSV file or a folder of images), got --dataset ${f.dataset}`,
      value: f.dataset,
      allowed: ['--data fashion-mnist', '--data digits', '--data file.csv', '--data folder/'],
    })
  }
  if (f.quantEdges !== undefined && f.quant === undefined && !f.space.endsWith(QUANT_SPACE_SUFFIX)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: '--quant-edges sets the edge formats of a quantization-policy search; add --quant <formats>',
      value: f.quantEdges,
      allowed: ['--quant <formats> --quant-edges <w:a>'],
    })
  }
  const int = (k: 'epochs' | 'trainSize' | 'validSize' | 'testSize' | 'width' | 'cells' | 'batchSize') =>
    f[k] === undefined ? {} : { [k]: intFlag(kebab(k), f[k], 1) }
  const training: TrainingFlags = {
    ...int('epochs'),
    ...int('trainSize'),
    ...int('validSize'),
    ...int('testSize'),
    ...int('width'),
    ...int('cells'),
    ...int('batchSize'),
    ...(f.lr === undefined ? {} : { lr: positiveFlag('lr', f.lr) }),
    ...(f.trainConfig === undefined ? {} : { configFile: f.trainConfig }),
  }
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
    'evaluator',
    'data',
    ...SETUP_FLAGS,
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
    evaluator: f.evaluator,
    training,
    proxy: {
      ...(f.proxy === undefined ? {} : { proxy: f.proxy }),
      ...(f.proxyWeights === undefined ? {} : { proxyWeights: f.proxyWeights }),
    },
    supernet: {
      ...(f.supernet === undefined ? {} : { dir: f.supernet }),
      ...(f.calibration === undefined ? {} : { calibration: intFlag('calibration', f.calibration, 1) }),
      ...(f.quant !== undefined
        ? { quant: quantFormatsFlag(f.quant) }
        : f.evaluator === 'supernet' && f.space.endsWith(QUANT_SPACE_SUFFIX)
          ? { quant: ['int4', 'int8'] as QuantFormat[] }
          : {}),
      ...(f.quantEdges === undefined ? {} : { quantEdges: f.quantEdges }),
    },
    hardware: {
      ...(f.lut === undefined ? {} : { lut: f.lut }),
      ...(f.helpPredictor === undefined ? {} : { helpPredictor: f.helpPredictor }),
      ...(f.helpDevice === undefined ? {} : { helpDevice: f.helpDevice }),
      ...(f.mnas === undefined ? {} : { mnas: f.mnas }),
    },
    given: new Set(names.filter(given)),
  }
}
