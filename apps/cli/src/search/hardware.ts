import { resolve } from 'node:path'
import {
  HARDWARE_METRICS,
  NasError,
  isHardwareMetric,
  mnasReward,
  parseConstraint,
  parseLatencyTable,
  parseObjectives,
  withDerivedMetrics,
  type Evaluator,
  type EvaluatorInfo,
  type LatencyTable,
  type Metrics,
  type ObjectiveList,
} from '@nasjs/core'
import type { SearchSpace } from '@nasjs/search-space'
import { readHelpDevice, readJsonFile, type HelpDeviceFile } from './help-device.js'
import type { TableTarget } from '../targets.js'

/** The MnasNet reward of `--mnas accuracy,latency,target[,alpha,beta]`. */
export interface MnasSetup {
  readonly accuracy: string
  readonly latency: string
  readonly target: number
  readonly alpha: number
  readonly beta: number
}

/**
 * The hardware part of a search, as the journal header records it: the hardware metrics asked for,
 * the latency table of `latency.lut` (its path and digest, so a resume checks it is the same table),
 * and the MnasNet reward.
 */
export interface HardwareSetup {
  readonly metrics: readonly string[]
  readonly lut?: { readonly path: string; readonly sha256: string }
  /** The HELP predictor and the device of `latency.help`, with their digests. */
  readonly help?: {
    readonly predictor: { readonly path: string; readonly sha256: string }
    readonly device: { readonly path: string; readonly sha256: string; readonly name: string }
  }
  readonly mnas?: MnasSetup
}

/** The name of the MnasNet reward metric. */
export const MNAS_METRIC = 'reward.mnas'

/** `--mnas valid_acc,latency.lut,5[,-0.07,-0.07]`. */
export function parseMnas(text: string): MnasSetup {
  const parts = text.split(',').map((s) => s.trim())
  const nums = parts.slice(2).map(Number)
  if (parts.length < 3 || parts.length > 5 || nums.some((n) => !Number.isFinite(n)) || !(nums[0]! > 0)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--mnas '${text}': expected accuracy,latency,target[,alpha,beta] with target > 0, e.g. --mnas valid_acc,latency.lut,5 (soft, alpha = beta = -0.07) or valid_acc,latency.lut,5,0,-1 (hard)`,
      value: text,
      allowed: ['<accuracy metric>,<latency metric>,<target>[,<alpha>,<beta>]'],
    })
  }
  return {
    accuracy: parts[0]!,
    latency: parts[1]!,
    target: nums[0]!,
    alpha: nums[1] ?? -0.07,
    beta: nums[2] ?? -0.07,
  }
}

/** Reads and checks a latency table file. */
export function readLatencyTable(path: string): { table: LatencyTable; sha256: string } {
  const { json, sha256 } = readJsonFile('--lut', path)
  return { table: parseLatencyTable(json, path), sha256 }
}

/** The metric names of objectives and constraints. */
const searchedNames = (objectives: ObjectiveList, constraints: readonly string[]) => [
  ...parseObjectives(objectives).map((o) => o.name),
  ...constraints.map((c) => parseConstraint(c).metric),
]

/**
 * The hardware setup of a new search: the hardware metrics among the objectives, constraints and the
 * MnasNet reward's inputs; `--lut` when `latency.lut` is asked for (and only then); `--mnas` when
 * `reward.mnas` is. Undefined when the search asks for none of them.
 */
export function planHardware(
  space: string,
  objectives: ObjectiveList,
  constraints: readonly string[],
  flags: {
    readonly lut?: string
    readonly helpPredictor?: string
    readonly helpDevice?: string
    readonly mnas?: string
  },
): HardwareSetup | undefined {
  const names = searchedNames(objectives, constraints)
  const mnas = flags.mnas === undefined ? undefined : parseMnas(flags.mnas)
  if (names.includes(MNAS_METRIC) && mnas === undefined) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `${MNAS_METRIC} is MnasNet's reward: say what it combines with --mnas accuracy,latency,target (e.g. --mnas valid_acc,latency.lut,5)`,
      value: MNAS_METRIC,
    })
  }
  if (mnas !== undefined && !names.includes(MNAS_METRIC)) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--mnas defines the metric ${MNAS_METRIC}; use it in an objective (--objective ${MNAS_METRIC}:max) or a constraint`,
      value: flags.mnas,
    })
  }
  const metrics = [
    ...new Set([...names, ...(mnas === undefined ? [] : [mnas.latency])].filter(isHardwareMetric)),
  ]
  if (metrics.includes('latency.lut') && flags.lut === undefined) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message:
        'latency.lut is predicted by a latency table: give it with --lut <file> (build one with nas hardware lut build)',
      value: 'latency.lut',
    })
  }
  if (flags.lut !== undefined && !metrics.includes('latency.lut')) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message:
        '--lut gives the table of the metric latency.lut; use it in an objective or a constraint (e.g. --objective latency.lut:min)',
      value: flags.lut,
    })
  }
  const help = planHelp(space, metrics, flags)
  if (metrics.length === 0 && mnas === undefined) return undefined
  let lut: HardwareSetup['lut']
  if (flags.lut !== undefined) {
    const { table, sha256 } = readLatencyTable(flags.lut)
    if (table.space !== space) {
      throw new NasError({
        code: 'SPACE_MISMATCH',
        message: `--lut ${flags.lut} is a table of space '${table.space}', and the search is on '${space}'`,
        value: table.space,
        allowed: [space],
      })
    }
    lut = { path: resolve(flags.lut), sha256 }
  }
  return {
    metrics,
    ...(lut === undefined ? {} : { lut }),
    ...(help === undefined ? {} : { help }),
    ...(mnas === undefined ? {} : { mnas }),
  }
}

/** `--help-predictor` and `--help-device` when `latency.help` is asked for, and only then. */
function planHelp(
  space: string,
  metrics: readonly string[],
  flags: { readonly helpPredictor?: string; readonly helpDevice?: string },
): HardwareSetup['help'] {
  const wanted = metrics.includes('latency.help')
  const given = flags.helpPredictor !== undefined || flags.helpDevice !== undefined
  if (!wanted && given) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message:
        '--help-predictor and --help-device give the metric latency.help; use it in an objective or a constraint (e.g. --objective latency.help:min)',
      value: flags.helpPredictor ?? flags.helpDevice,
    })
  }
  if (!wanted) return undefined
  if (flags.helpPredictor === undefined || flags.helpDevice === undefined) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message:
        'latency.help is predicted by a HELP predictor adapted to a device: give --help-predictor <file> (nas hardware predictor train) and --help-device <file> (nas hardware predictor device)',
      value: 'latency.help',
    })
  }
  if (space !== 'nb201') {
    throw new NasError({
      code: 'SPACE_MISMATCH',
      message: `latency.help predicts NB201 cells (HELP's graph encoding); the search is on '${space}'`,
      value: space,
      allowed: ['nb201'],
    })
  }
  const predictor = readJsonFile('--help-predictor', flags.helpPredictor)
  const p = predictor.json as { format?: unknown; references?: unknown; rangeReferences?: unknown } | null
  if (p === null || typeof p !== 'object' || p.format !== 'nasjs-help' || !Array.isArray(p.references)) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `--help-predictor ${flags.helpPredictor} is not a HELP predictor (make one with nas hardware predictor train)`,
      path: [flags.helpPredictor],
    })
  }
  const { device, sha256 } = readHelpDevice(flags.helpDevice, {
    sha256: predictor.sha256,
    references: p.references.length,
    rangeReferences: Array.isArray(p.rangeReferences) ? p.rangeReferences.length : 0,
  })
  return {
    predictor: { path: resolve(flags.helpPredictor), sha256: predictor.sha256 },
    device: { path: resolve(flags.helpDevice), sha256, name: device.name },
  }
}

/** The metrics the hardware layer adds (the evaluator under it never sees them). */
export const addedMetrics = (hw: HardwareSetup | undefined): string[] =>
  hw === undefined ? [] : [...hw.metrics, ...(hw.mnas === undefined ? [] : [MNAS_METRIC])]

/**
 * A target whose metric checks leave the hardware metrics and the reward to the hardware layer, and
 * whose summaries show them.
 */
export function hardwareTarget(target: TableTarget, hw: HardwareSetup | undefined): TableTarget {
  if (hw === undefined) return target
  const added = new Set(addedMetrics(hw))
  return {
    ...target,
    showMetrics: [...target.showMetrics, ...added],
    // a table has no true front over metrics measured here
    open(data) {
      const session = target.open(data)
      return {
        ...session,
        truth: (dataset, objectives) =>
          objectives.some((o) => added.has(o.name)) ? undefined : session.truth(dataset, objectives),
      }
    },
    checkMetrics(dataset, names) {
      const own = names.filter((n) => !added.has(n))
      // the reward's accuracy comes from the evaluator under it
      if (hw.mnas !== undefined && !added.has(hw.mnas.accuracy)) own.push(hw.mnas.accuracy)
      if (hw.mnas !== undefined && !isHardwareMetric(hw.mnas.latency)) own.push(hw.mnas.latency)
      target.checkMetrics(dataset, [...new Set(own)])
    },
  }
}

/** A hardware metric the search asked for that no setup knows: the one error for it. */
export function unknownHardware(name: string): NasError {
  return new NasError({
    code: 'METRIC_MISSING',
    message: `'${name}' is not a hardware metric; they are ${HARDWARE_METRICS.join(', ')}`,
    value: name,
    allowed: HARDWARE_METRICS,
  })
}

/**
 * Wraps an evaluator with the hardware metrics and the reward: TF.js is loaded here (for the table
 * evaluator, not before). `network` is the builder setting of the networks the evaluator scores.
 */
export async function openHardware(
  hw: HardwareSetup,
  space: SearchSpace<unknown>,
  network: Record<string, unknown> | undefined,
  evaluator: Evaluator<unknown> & { readonly info: EvaluatorInfo },
  cheapMetrics: ((arch: unknown) => Metrics) | undefined,
  /** Builds the network measured, for a space without a builder (a supernet's subnets). */
  build?: (arch: unknown) => ReturnType<typeof import('@nasjs/models').buildMbNetwork>,
): Promise<{
  evaluator: Evaluator<unknown> & { readonly info: EvaluatorInfo }
  cheapMetrics: ((arch: unknown) => Metrics) | undefined
  description: string
}> {
  const [{ initBackend, formatBackendInfo }, models, node] = await Promise.all([
    import('@nasjs/backend'),
    import('@nasjs/models'),
    import('@nasjs/models/node'),
  ])
  const info = await initBackend({ quiet: true })
  let table: LatencyTable | undefined
  if (hw.lut !== undefined) {
    const read = readLatencyTable(hw.lut.path)
    if (read.sha256 !== hw.lut.sha256) {
      throw new NasError({
        code: 'DATA_CORRUPT',
        message: `the latency table ${hw.lut.path} changed since the run started (sha256 ${hw.lut.sha256.slice(0, 12)}..., now ${read.sha256.slice(0, 12)}...): results would mix two tables`,
        path: [hw.lut.path],
      })
    }
    table = read.table
  }
  const help = hw.help === undefined ? undefined : await openHelp(hw.help)
  const metrics = hardwareLayer(
    models,
    space,
    network,
    hw,
    table,
    help?.predict,
    node.quietGateForMachine(),
    build,
  )
  // a network the builder refuses (no builder for the space, a bad size) fails here, before any trial
  if (build === undefined)
    models.modelCost(space, space.sample(new (await import('@nasjs/core')).Rng(0)), network)
  if (table !== undefined) {
    // a table built for another network (width, input size, classes) lacks this one's blocks
    const sample = space.sample(new (await import('@nasjs/core')).Rng(1))
    try {
      metrics.cheapOf(sample)
    } catch (e) {
      if (!(e instanceof NasError) || e.code !== 'METRIC_MISSING') throw e
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `--lut ${hw.lut!.path} was built for another network than this search's (${JSON.stringify(table.setting.network ?? 'the builder defaults')} against ${JSON.stringify(network ?? 'the builder defaults')}): ${e.message}`,
        value: hw.lut!.path,
      })
    }
  }
  const wrapped = models.withHardwareMetrics(evaluator, evaluator.info, metrics)
  const withReward =
    hw.mnas === undefined
      ? wrapped.evaluator
      : withDerivedMetrics(wrapped.evaluator, [mnasReward({ ...hw.mnas, name: MNAS_METRIC })])
  const cheap = metrics.cheap
  return {
    evaluator: Object.assign(withReward, {
      info: {
        ...wrapped.info,
        metrics: [...wrapped.info.metrics, ...(hw.mnas === undefined ? [] : [MNAS_METRIC])],
      },
    }),
    cheapMetrics:
      cheap.length === 0
        ? cheapMetrics
        : (arch) => ({ ...(cheapMetrics?.(arch) ?? {}), ...metrics.cheapOf(arch) }),
    description: `hardware: ${hw.metrics.join(', ')}${table === undefined ? '' : ` (latency.lut: ${table.space} table of ${table.device.name})`}${hw.help === undefined ? '' : ` (latency.help: HELP adapted to ${hw.help.device.name})`} on TF.js ${formatBackendInfo(info).split('; ')[0] ?? ''}`,
  }
}

function hardwareLayer(
  models: typeof import('@nasjs/models'),
  space: SearchSpace<unknown>,
  network: Record<string, unknown> | undefined,
  hw: HardwareSetup,
  table: LatencyTable | undefined,
  help: ((arch: unknown) => number) | undefined,
  gate: import('@nasjs/models').QuietGate,
  build?: (arch: unknown) => ReturnType<typeof import('@nasjs/models').buildMbNetwork>,
) {
  try {
    return models.hardwareMetrics({
      gate,
      ...(build === undefined ? {} : { build }),
      space,
      metrics: hw.metrics,
      ...(network === undefined ? {} : { network: network }),
      ...(table === undefined ? {} : { table }),
      ...(help === undefined ? {} : { help }),
    })
  } catch (e) {
    if (
      e instanceof NasError &&
      e.code === 'METRIC_MISSING' &&
      typeof e.value === 'string' &&
      !isHardwareMetric(e.value)
    )
      throw unknownHardware(e.value)
    throw e
  }
}

/** The HELP predictor adapted to the search's device (both files checked against their digests). */
async function openHelp(
  help: NonNullable<HardwareSetup['help']>,
): Promise<{ predict: (arch: unknown) => number }> {
  const predictor = readJsonFile('--help-predictor', help.predictor.path)
  if (predictor.sha256 !== help.predictor.sha256) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `the HELP predictor ${help.predictor.path} changed since the run started: results would mix two predictors`,
      path: [help.predictor.path],
    })
  }
  const [p, { parseNb201 }] = await Promise.all([import('@nasjs/predictors'), import('@nasjs/search-space')])
  const model = await p.loadHelp(predictor.json)
  const { device, sha256 } = readHelpDevice(help.device.path, {
    sha256: predictor.sha256,
    references: model.references.length,
    rangeReferences: model.rangeReferences.length,
  })
  if (sha256 !== help.device.sha256) {
    model.dispose()
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `the HELP device ${help.device.path} changed since the run started: results would mix two devices`,
      path: [help.device.path],
    })
  }
  const d: HelpDeviceFile = device
  const adapted = p.adaptHelp(model, {
    references: d.references,
    rangeLatencies: d.rangeLatencies,
    support: d.support.map((s) => ({ graph: p.nb201HelpGraph(parseNb201(s.arch)), ms: s.ms })),
  })
  // the adapted copy keeps what it needs; the meta-learner's own weights are not needed any more
  model.dispose()
  return { predict: (arch) => adapted.predict([p.nb201HelpGraph(arch as never)]).ms[0]! }
}
