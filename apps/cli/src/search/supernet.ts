import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { NasError } from '@nasjs/core'
import type { ObjectiveList } from '@nasjs/core'
import type { DatasetSpec } from '@nasjs/models/node'
import { parseQuantPolicy, type QuantFormat, type SearchSpace } from '@nasjs/search-space'
import type { ElasticMbv3, FbnetSupernetShape, SupernetShape } from '@nasjs/supernet'
import type { SupernetEvalSetup } from '@nasjs/supernet/node'
import type { TableSession, TableTarget } from '../targets.js'
import type { SupernetFlags, TrainingFlags } from './parse.js'
import { builtSessionParts, dataLabel, dataSpec } from './training.js'

/**
 * What `--evaluator supernet` evaluates with, as the journal header records it (so a resumed run
 * evaluates the same way): the supernet's directory and the digest of its weights, its shape, the
 * data (held-out images, calibration images) and the seed of the splits.
 */
export interface SupernetSetup extends SupernetEvalSetup {
  /** Absolute path of the supernet directory. */
  readonly dir: string
  /** SHA-256 of its weights file: a resumed search refuses a changed supernet. */
  readonly sha256: string
  readonly space: string
  readonly supernet: SupernetShape | FbnetSupernetShape
  /**
   * With `--quant`: each subnet is searched with a quantization policy (SimQ-NAS), each block's
   * formats among `formats`, the stem, first block and head in `edges` (`weights:activations`).
   */
  readonly quant?: { readonly formats: readonly QuantFormat[]; readonly edges: string }
}

/** The default held-out images a supernet search scores each subnet on. */
export const SUPERNET_VALID = 1000
/** The default training images each subnet's BatchNorm is recalibrated on. */
export const SUPERNET_CALIBRATION = 500

/** The metrics of a supernet search: `test_acc` only with a test split (`--test-size`). */
export const supernetSearchMetrics = (setup: Pick<SupernetSetup, 'split' | 'quant'>): string[] => {
  const test = setup.split.test === undefined ? [] : ['test_acc']
  return setup.quant === undefined
    ? ['acc', ...test, 'params', 'flops']
    : ['acc', 'float_acc', ...test, 'bytes', 'bitops', 'peak_act_bytes', 'params', 'flops']
}

/** A supernet's subnets' space without its weights, joined with policies with `--quant`. */
async function searchSpaceOf(
  shape: SupernetShape | FbnetSupernetShape,
  quant: SupernetSetup['quant'],
): Promise<SearchSpace<unknown>> {
  const sn = await import('@nasjs/supernet')
  if (sn.isFbnetSupernet(shape)) {
    if (quant !== undefined) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message:
          '--quant searches quantization policies of OFA-MobileNetV3 subnets; this supernet is an FBNet one (search it without --quant)',
        value: 'fbnet',
        allowed: ['ofa-mbv3'],
      })
    }
    return sn.fbnetSupernetSpace(shape)
  }
  const space = sn.supernetSpace(shape)
  if (quant === undefined) return space
  const { quantSubnetSpace } = await import('@nasjs/quantization')
  return quantSubnetSpace({ space, config: sn.parseSupernetConfig(shape) }, quant.formats)
}

/**
 * The setup of a supernet search from the flags: reads the supernet's header (its shape, the
 * digest of its weights); loads `@nasjs/supernet/node` (no data, no weights).
 */
export async function supernetSetup(
  data: string | undefined,
  seed: number,
  flags: SupernetFlags,
  training: TrainingFlags,
): Promise<{ setup: SupernetSetup; space: SearchSpace<unknown> }> {
  const dir = resolve(flags.dir!)
  const node = await import('@nasjs/supernet/node')
  const header = node.readSupernetHeader(dir)
  const quant =
    flags.quant === undefined
      ? undefined
      : { formats: flags.quant, edges: quantEdgesFlag(flags.quantEdges ?? 'int8:int8') }
  const space = await searchSpaceOf(header.supernet, quant)
  const spec = dataSpec(data ?? 'fashion-mnist') as DatasetSpec
  const setup: SupernetSetup = {
    dir,
    sha256: header.bin.sha256,
    space: space.id,
    supernet: header.supernet,
    data: spec,
    split: {
      ...(training.trainSize === undefined ? {} : { train: training.trainSize }),
      valid: training.validSize ?? SUPERNET_VALID,
      ...(training.testSize === undefined ? {} : { test: training.testSize }),
      seed,
    },
    calibration: flags.calibration ?? SUPERNET_CALIBRATION,
    batchSize: training.batchSize ?? 500,
    ...(quant === undefined ? {} : { quant }),
  }
  return { setup, space: space }
}

/** `--quant-edges int8:int8`: one `weights:activations` pair of known formats. */
function quantEdgesFlag(text: string): string {
  try {
    const [edges] = parseQuantPolicy(text, 1).map((p) => `${p.weights}:${p.activations}`)
    return edges!
  } catch (e) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `--quant-edges ${text}: ${e instanceof Error ? e.message : String(e)}`,
      value: text,
      allowed: ['weights:activations, e.g. int8:int8'],
    })
  }
}

/**
 * Default objectives: accuracy, and FLOPs beside it for multi-objective strategies (the model's
 * bytes when quantization policies are searched too).
 */
export const supernetObjectives = (multiObjective: boolean, quant = false): ObjectiveList =>
  (multiObjective ? ['acc:max', quant ? 'bytes:min' : 'flops:min'] : ['acc:max']) as unknown as ObjectiveList

/** The target of a supernet search: the supernet's space, its metrics, no table behind it. */
export function supernetTarget(setup: SupernetSetup, space: SearchSpace<unknown>): TableTarget {
  const metrics = supernetSearchMetrics(setup)
  return {
    space,
    datasets: [],
    defaultDataset: dataLabel(setup.data),
    defaultObjectives: supernetObjectives(true, setup.quant !== undefined),
    recordMetrics: metrics,
    showMetrics: metrics,
    checkMetrics(_dataset, names) {
      for (const n of names) {
        if (!metrics.includes(n)) {
          throw new NasError({
            code: 'METRIC_MISSING',
            message: `metric '${n}' is not measured by a supernet search; its metrics are ${metrics.join(', ')} (and the hardware metrics, e.g. latency.tfjs-wasm)`,
            value: n,
            allowed: metrics,
          })
        }
      }
    },
    // a search opens its own session (openSupernetSession); this one serves nas report, which
    // evaluates nothing and has no benchmark's truth to compare with
    open: () => ({
      evaluator: () => {
        throw new NasError({ code: 'INTERNAL', message: 'a supernet search opens its own session' })
      },
      cheapMetrics: () => undefined,
      features: () => () => [],
      indexOf: () => undefined,
      truth: () => undefined,
    }),
  }
}

/** The space of a supernet search recorded in a journal header (for a resume). */
export async function supernetSpaceOf(setup: SupernetSetup): Promise<SearchSpace<unknown>> {
  return searchSpaceOf(setup.supernet, setup.quant)
}

/** A supernet session: the evaluator over the supernet's subnets, and its costs. */
export interface SupernetSession extends TableSession {
  readonly description: string
  /** The standalone network of a subnet (for measured hardware metrics). */
  readonly build: (arch: unknown) => ReturnType<typeof import('@nasjs/models').buildMbNetwork>
  close(): Promise<void>
}

/**
 * Opens a supernet session: picks the TF.js backend, checks the supernet's weights against the
 * digest the run recorded, loads them and the data. TF.js is loaded here.
 */
export async function openSupernetSession(setup: SupernetSetup, workers: number): Promise<SupernetSession> {
  const [{ initBackend, formatBackendInfo }, models, snode] = await Promise.all([
    import('@nasjs/backend'),
    import('@nasjs/models'),
    import('@nasjs/supernet/node'),
  ])
  const backend = await initBackend({ quiet: true })
  const header = snode.readSupernetHeader(setup.dir)
  const digest = createHash('sha256')
    .update(readFileSync(resolve(setup.dir, header.bin.file)))
    .digest('hex')
  if (digest !== setup.sha256) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `the supernet in ${setup.dir} changed since the run started (sha256 ${setup.sha256.slice(0, 12)}..., now ${digest.slice(0, 12)}...): results would mix two supernets`,
      path: [setup.dir],
    })
  }
  const evalSetup: SupernetEvalSetup = {
    dir: setup.dir,
    data: setup.data,
    split: setup.split,
    calibration: setup.calibration,
    batchSize: setup.batchSize,
  }
  const opened = await snode.openSupernetEvaluation(evalSetup)
  const { net } = opened
  const loaded = opened.data
  if (setup.quant !== undefined) {
    // quantized subnets: evaluated in this thread (each keeps its recalibrated model for the next policies)
    const { quantSubnetEvaluator } = await import('@nasjs/quantization')
    const q = quantSubnetEvaluator({
      // an OFA supernet: searchSpaceOf refuses --quant for FBNet ones
      net: net as ElasticMbv3,
      data: {
        calibration: loaded.train,
        valid: loaded.valid,
        ...(setup.split.test === undefined ? {} : { test: loaded.test }),
      },
      formats: setup.quant.formats,
      edges: setup.quant.edges,
      calibrationImages: setup.calibration,
      batchSize: setup.batchSize,
    })
    const subnet = (a: unknown) => (a as [never, unknown])[0]
    const cheap = new Set(q.info.cheapMetrics)
    return {
      description: `searching the subnets of the supernet in ${setup.dir} (${header.train.schedule}, ${header.step} steps) with a quantization policy each (blocks in ${setup.quant.formats.join(' or ')}, stem, first block and head in ${setup.quant.edges}): accuracy of the quantized subnet on ${loaded.valid.y.length} held-out ${loaded.source} images after recalibrating BatchNorm on ${setup.calibration} training images; TF.js ${formatBackendInfo(backend).split('; ')[0] ?? ''}${workers > 1 ? '; in this thread (--concurrency does not spread quantized evaluations over threads)' : ''}`,
      evaluator: () => Object.assign(q.evaluator, { info: q.info }) as never,
      ...builtSessionParts((a) => net.cost(subnet(a))),
      cheapMetrics(_dataset, metrics) {
        const want = metrics.filter((m) => cheap.has(m))
        if (want.length === 0) return undefined
        return (a) => {
          const m = q.cheapMetrics(a as never)
          return Object.fromEntries(want.map((k) => [k, m[k]!]))
        }
      },
      build: (a) => models.buildMbNetwork(net.network(subnet(a)), 0),
      close: () => {
        q.dispose()
        opened.close()
        return Promise.resolve()
      },
    }
  }
  let evaluator = Object.assign(opened.evaluator, { info: opened.info }) as never
  let closePool = async () => {}
  if (workers > 1) {
    // each worker thread loads its own copy of the supernet and the data, and evaluates one subnet
    const { createWorkerPool } = await import('@nasjs/strategies/node')
    const pool = createWorkerPool(snode.supernetWorkerSpec(evalSetup, workers), (a) =>
      net.space.toJSON(a as never),
    )
    try {
      await pool.ready()
    } catch (e) {
      await pool.close()
      opened.close()
      throw e
    }
    evaluator = Object.assign(pool.evaluator, { info: opened.info }) as never
    let closed: Promise<void> | undefined
    closePool = () => (closed ??= pool.close())
  }
  const cost = (a: unknown) => net.cost(a as never)
  return {
    description: `searching the subnets of the supernet in ${setup.dir} (${header.train.schedule}, ${header.step} steps): accuracy on ${loaded.valid.y.length} held-out ${loaded.source} images after recalibrating BatchNorm on ${setup.calibration} training images; TF.js ${formatBackendInfo(backend).split('; ')[0] ?? ''}${workers > 1 ? `; ${workers} worker threads` : ''}`,
    evaluator: () => evaluator,
    ...builtSessionParts(cost),
    build: (arch) => models.buildMbNetwork(net.network(arch as never), 0),
    close: async () => {
      await closePool()
      opened.close()
    },
  }
}
