import { NasError, Rng, formatAllowed, spearmanRho } from '@nasjs/core'
import type * as TF from '@tensorflow/tfjs-core'
import { z } from 'zod'
import { activeTf, prepareTf } from '../tf-backend.js'
import type { HelpGraph } from './graph.js'

/**
 * HELP (Lee et al., 2021, "HELP: Hardware-Adaptive Efficient Latency Prediction for NAS via
 * Meta-Learning"): a latency predictor conditioned on a hardware embedding (the latencies of a few
 * fixed reference architectures on the device), meta-trained with Meta-SGD over many devices so that
 * a new device needs only a handful of measurements: a graph-convolutional encoder of the
 * architecture and an MLP over the embedding, joined by three fully connected layers whose weights a
 * device-conditioned variable `z` modulates (the "z modulator", sampled, with a KL term).
 * @since 0.1.0
 * @category latency predictors
 */
export const HelpConfig = z
  .object({
    /** Hidden width of the graph convolutions and of the embedding MLP (HELP: 100). */
    layerSize: z.number().int().min(1).max(4096).default(100),
    /** Graph-convolution layers (HELP: 4). */
    graphLayers: z.number().int().min(1).max(16).default(4),
    /** Gradient steps of the adaptation to a device, in meta-training and after (HELP: 2). */
    innerSteps: z.number().int().min(0).max(50).default(2),
    /** Initial per-parameter inner learning rate that Meta-SGD learns (HELP: 1e-3). */
    innerLr: z.number().positive().default(1e-3),
    /** Adam learning rate of the meta-update (HELP: 1e-4). */
    metaLr: z.number().positive().default(1e-4),
    /** Scale of the z modulation (HELP: 0.01). */
    zScaling: z.number().min(0).default(0.01),
    /** Weight of the KL term of the z modulator (HELP: 0.1). */
    klScaling: z.number().min(0).default(0.1),
    /** Differentiate through the inner steps (HELP: on); off is first-order Meta-SGD. */
    secondOrder: z.boolean().default(true),
    /**
     * The latency range that scales a device's targets to [0.05, 0.95]: `pool`, the range of the
     * device's pool (HELP; at adaptation, the range of what was measured), or `references`, the range
     * of the reference latencies, the same in meta-training and at adaptation.
     */
    targetRange: z.enum(['pool', 'references']).default('pool'),
    /** Samples of z averaged at prediction time (HELP: 10). */
    mcSamples: z.number().int().min(1).max(1000).default(10),
    seed: z.number().int().default(0),
  })
  .strict()
/** @since 0.1.0 @category latency predictors */
export type HelpConfig = z.output<typeof HelpConfig>

/** A parameter of the meta-learner: its shape and how PyTorch (HELP's framework) initialises it. */
interface ParamSpec {
  readonly name: string
  readonly shape: readonly number[]
  readonly bound: number
}

/**
 * The saved form of a meta-trained HELP model (JSON): configuration, shapes of the graphs it reads,
 * the reference architectures its hardware embedding is made of, and every weight.
 * @since 0.1.0
 * @category latency predictors
 */
export interface HelpState {
  readonly format: 'nasjs-help'
  readonly version: 1
  readonly config: HelpConfig
  /** Space the graphs come from (e.g. `nb201`), for the error when another is given. */
  readonly space: string
  readonly nodes: number
  readonly features: number
  /** Indices (in the caller's architecture list, e.g. the NB201 index) of the reference architectures. */
  readonly references: readonly number[]
  /**
   * Indices of the pool's fastest and slowest architectures across the meta-training devices (by
   * mean rank), set by meta-training: measured on a new device with the references, they give the
   * target scale (HELP's NAS-mode normalisation).
   */
  readonly rangeReferences?: readonly number[]
  /** Devices it was meta-trained on, episodes run, and the episode kept (best validation). */
  readonly training?: {
    readonly devices: readonly string[]
    readonly episodes: number
    readonly kept: number
    readonly validation?: number
  }
  readonly params: Readonly<Record<string, readonly number[]>>
}

/**
 * A HELP meta-learner: its weights live in TF.js variables until `dispose()`.
 * @since 0.1.0
 * @category latency predictors
 */
export class HelpModel {
  /** @internal */
  readonly vars: Map<string, TF.Variable>
  /** @internal */
  readonly specs: readonly ParamSpec[]
  /** Episodes of meta-training so far, and what was kept. */
  training: HelpState['training']
  /** See {@link HelpState.rangeReferences}. */
  rangeReferences: readonly number[] = []

  /** @internal */
  constructor(
    readonly config: HelpConfig,
    readonly space: string,
    readonly nodes: number,
    readonly features: number,
    readonly references: readonly number[],
    values?: Readonly<Record<string, ArrayLike<number>>>,
  ) {
    const tf = activeTf()
    this.specs = paramSpecs(config, features, references.length)
    const rng = new Rng(config.seed)
    this.vars = new Map()
    for (const s of this.specs) {
      const size = s.shape.reduce((a, b) => a * b, 1)
      let v: Float32Array
      if (values) {
        const given = values[s.name]
        if (given === undefined || given.length !== size) {
          this.dispose()
          throw new NasError({
            code: 'DATA_CORRUPT',
            message: `HELP weights: '${s.name}' should hold ${size} values; it holds ${given?.length ?? 'none'}`,
            value: s.name,
          })
        }
        v = Float32Array.from(given)
      } else if (s.name.startsWith('lr.')) {
        v = new Float32Array(size).fill(config.innerLr)
      } else {
        v = new Float32Array(size)
        for (let i = 0; i < size; i++) v[i] = (rng.uniform() * 2 - 1) * s.bound
      }
      this.vars.set(s.name, tf.variable(tf.tensor(v, [...s.shape]), true, `help/${s.name}/${uid++}`))
    }
  }

  /** The model as JSON-ready state (weights copied out of TF.js). */
  toJSON(): HelpState {
    const params: Record<string, number[]> = {}
    for (const [k, v] of this.vars) params[k] = Array.from(v.dataSync())
    return {
      format: 'nasjs-help',
      version: 1,
      config: this.config,
      space: this.space,
      nodes: this.nodes,
      features: this.features,
      references: this.references,
      ...(this.rangeReferences.length > 0 ? { rangeReferences: this.rangeReferences } : {}),
      ...(this.training ? { training: this.training } : {}),
      params,
    }
  }

  /** Frees the weights. */
  dispose(): void {
    for (const v of this.vars.values()) v.dispose()
    this.vars.clear()
  }
}
let uid = 0

function paramSpecs(cfg: HelpConfig, features: number, embed: number): ParamSpec[] {
  const L = cfg.layerSize
  const out: ParamSpec[] = []
  const linear = (name: string, inp: number, o: number, wBound = 1 / Math.sqrt(inp)) => {
    out.push({ name: `${name}.w`, shape: [inp, o], bound: wBound })
    out.push({ name: `${name}.b`, shape: [o], bound: 1 / Math.sqrt(inp) })
  }
  // graph convolutions: weights U(-0.05, 0.05), biases U(±1/sqrt(out)) as HELP's GraphConvolution
  for (let k = 1; k <= cfg.graphLayers; k++) {
    out.push({ name: `gc${k}.w`, shape: [k === 1 ? features : L, L], bound: 0.05 })
    out.push({ name: `gc${k}.b`, shape: [L], bound: 1 / Math.sqrt(L) })
  }
  linear('hw1', embed, L)
  linear('hw2', L, L)
  linear('fc3', 2 * L, 2 * L)
  linear('fc4', 2 * L, 2 * L)
  linear('fc5', 2 * L, 1)
  const model = out.map((s) => s)
  // Meta-SGD: one learned inner learning rate per weight
  for (const s of model) out.push({ name: `lr.${s.name}`, shape: s.shape, bound: 0 })
  // the z modulator's inference network: embedding -> 10 -> (mean, pre-softplus std) of z
  linear('z1', embed, 10)
  linear('z2', 10, 2 * zSize(cfg))
  return out
}

/** z: one factor per input unit of fc3, fc4, fc5 and one bias shift for each. */
const zSize = (cfg: HelpConfig) => 3 * 2 * cfg.layerSize + 3
const MODEL_PREFIX = /^(gc\d+|hw\d|fc\d)\./

/**
 * TF.js with a backend and its gradient functions: tfjs-core registers those only when
 * tfjs-layers (or the full `@tensorflow/tfjs` bundle) is imported, so it is imported here, on first
 * need, when the application has not.
 */
async function prepareHelpTf(): Promise<void> {
  await prepareTf()
  const tf = activeTf()
  if (tf.getGradient('BatchMatMul') === undefined) await import('@tensorflow/tfjs-layers')
  if (tf.getGradient('BatchMatMul') === undefined) {
    throw new NasError({
      code: 'BACKEND',
      message:
        "HELP needs TF.js's gradient functions and they are not registered: import '@tensorflow/tfjs-layers' (or '@tensorflow/tfjs') once, from the same copy of TF.js",
    })
  }
}

/** Creates a HELP meta-learner with fresh weights for graphs of the given shape. */
export async function createHelp(options: {
  /** Example graph (its node and feature counts fix the first layer). */
  readonly graph: HelpGraph
  /** Indices of the reference architectures whose latencies make the hardware embedding (HELP: 10). */
  readonly references: readonly number[]
  readonly space: string
  readonly config?: z.input<typeof HelpConfig>
}): Promise<HelpModel> {
  await prepareHelpTf()
  const cfg = parseHelpConfig(options.config ?? {})
  if (options.references.length < 2) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `the hardware embedding needs at least 2 reference architectures; got ${options.references.length}`,
      value: options.references,
    })
  }
  return new HelpModel(cfg, options.space, options.graph.nodes, options.graph.features, [
    ...options.references,
  ])
}

/** Loads a saved HELP model (see {@link HelpModel.toJSON}). */
export async function loadHelp(state: unknown): Promise<HelpModel> {
  await prepareHelpTf()
  const s = state as Partial<HelpState> | null
  if (s === null || typeof s !== 'object' || s.format !== 'nasjs-help' || s.version !== 1) {
    throw new NasError({
      code: 'DATA_CORRUPT',
      message: `not a nasjs HELP model (expected format 'nasjs-help', version 1); got ${JSON.stringify(s === null || typeof s !== 'object' ? s : { format: s.format, version: s.version })}`,
    })
  }
  const cfg = parseHelpConfig(s.config ?? {})
  const m = new HelpModel(
    cfg,
    String(s.space),
    Number(s.nodes),
    Number(s.features),
    [...(s.references ?? [])],
    s.params,
  )
  m.training = s.training
  m.rangeReferences = [...(s.rangeReferences ?? [])]
  return m
}

function parseHelpConfig(input: unknown): HelpConfig {
  const r = HelpConfig.safeParse(input)
  if (!r.success) {
    const issue = r.error.issues[0]!
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `HELP config: ${issue.path.join('.') || '(root)'}: ${issue.message}; options are ${formatAllowed(Object.keys(HelpConfig.shape))}`,
      value: input,
      allowed: Object.keys(HelpConfig.shape),
    })
  }
  return r.data
}

/** A batch of graphs as tensors. */
interface GraphBatch {
  readonly x: TF.Tensor3D
  readonly adj: TF.Tensor3D
}

function graphBatch(tf: typeof TF, model: HelpModel, graphs: readonly HelpGraph[]): GraphBatch {
  const n = model.nodes
  const f = model.features
  const x = new Float32Array(graphs.length * n * f)
  const adj = new Float32Array(graphs.length * n * n)
  graphs.forEach((g, i) => {
    if (g.nodes !== n || g.features !== f) {
      throw new NasError({
        code: 'SPACE_MISMATCH',
        message: `graph ${i} has ${g.nodes} nodes of ${g.features} features; this HELP model reads ${n} nodes of ${f} (${model.space})`,
        value: [g.nodes, g.features],
        allowed: [[n, f]],
      })
    }
    x.set(g.x, i * n * f)
    adj.set(g.adjacency, i * n * n)
  })
  return { x: tf.tensor3d(x, [graphs.length, n, f]), adj: tf.tensor3d(adj, [graphs.length, n, n]) }
}

type Params = Record<string, TF.Tensor>

/** The meta-learner's forward pass: normalised latency, one per graph (`[B, 1]`). */
function forward(tf: typeof TF, cfg: HelpConfig, p: Params, g: GraphBatch, hw: TF.Tensor2D): TF.Tensor2D {
  const [B, N] = g.x.shape
  let h: TF.Tensor3D = g.x
  for (let k = 1; k <= cfg.graphLayers; k++) {
    const w = p[`gc${k}.w`] as TF.Tensor2D
    const xw = tf.reshape<TF.Rank.R3>(tf.matMul(tf.reshape(h, [B * N, h.shape[2]]), w), [B, N, w.shape[1]])
    h = tf.relu(tf.add(tf.matMul(g.adj, xw), p[`gc${k}.b`]!))
  }
  const node = tf.reshape<TF.Rank.R2>(tf.slice(h, [0, N - 1, 0], [B, 1, h.shape[2]]), [B, h.shape[2]])
  const lin = (v: TF.Tensor2D, name: string) =>
    tf.add<TF.Tensor2D>(tf.matMul(v, p[`${name}.w`] as TF.Tensor2D), p[`${name}.b`]!)
  const e = tf.relu(lin(tf.relu(lin(hw, 'hw1')), 'hw2'))
  let o: TF.Tensor2D = tf.concat([node, tf.tile(e, [B, 1])], 1)
  o = tf.relu(lin(o, 'fc3'))
  o = tf.relu(lin(o, 'fc4'))
  return lin(o, 'fc5')
}

/**
 * The device-conditioned starting point of an adaptation: the model's weights with fc3..fc5
 * modulated by a sample of z, and the KL of z's distribution from N(0, 1).
 */
function modulated(
  tf: typeof TF,
  model: HelpModel,
  hw: TF.Tensor2D,
  rng: Rng,
): { params: Params; kl: TF.Scalar } {
  const cfg = model.config
  const v = (k: string) => model.vars.get(k)!
  const Z = zSize(cfg)
  const lin = (x: TF.Tensor2D, name: string) =>
    tf.add<TF.Tensor2D>(tf.matMul(x, v(`${name}.w`)), v(`${name}.b`))
  const stats = lin(tf.relu(lin(hw, 'z1')), 'z2')
  const mu = tf.reshape(tf.slice(stats, [0, 0], [1, Z]), [Z])
  const sigma = tf.softplus(tf.reshape(tf.slice(stats, [0, Z], [1, Z]), [Z]))
  const eps = new Float32Array(Z)
  for (let i = 0; i < Z; i++) eps[i] = rng.normal()
  const zz = tf.add(mu, tf.mul(sigma, tf.tensor1d(eps)))
  // KL(N(mu, sigma) || N(0, 1)) summed over z
  const kl = tf.sum<TF.Scalar>(
    tf.sub(tf.mul(0.5, tf.add(tf.square(sigma), tf.square(mu))), tf.add(tf.log(sigma), 0.5)),
  )
  const params: Params = {}
  for (const s of model.specs) if (MODEL_PREFIX.test(s.name)) params[s.name] = v(s.name)
  const L2 = 2 * cfg.layerSize
  ;['fc3', 'fc4', 'fc5'].forEach((name, i) => {
    const factor = tf.reshape(tf.add(1, tf.mul(cfg.zScaling, tf.slice(zz, [i * L2], [L2]))), [L2, 1])
    params[`${name}.w`] = tf.mul(v(`${name}.w`), factor)
    params[`${name}.b`] = tf.add(v(`${name}.b`), tf.mul(cfg.zScaling, tf.slice(zz, [3 * L2 + i], [1])))
  })
  return { params, kl }
}

const mse = (tf: typeof TF, a: TF.Tensor, b: TF.Tensor) => tf.mean<TF.Scalar>(tf.square(tf.sub(a, b)))

/** Meta-SGD inner loop: `innerSteps` steps of `theta - lr ⊙ grad`, differentiable when `keepGraph`. */
function adapt(
  tf: typeof TF,
  model: HelpModel,
  start: Params,
  g: GraphBatch,
  y: TF.Tensor2D,
  hw: TF.Tensor2D,
  keepGraph: boolean,
): Params {
  const cfg = model.config
  const names = Object.keys(start)
  let cur = start
  for (let step = 0; step < cfg.innerSteps; step++) {
    const loss = (...ts: TF.Tensor[]) => {
      const p: Params = {}
      names.forEach((k, i) => (p[k] = ts[i]!))
      return mse(tf, forward(tf, cfg, p, g, hw), y)
    }
    const grads = tf.grads(loss)(names.map((k) => cur[k]!))
    const next: Params = {}
    names.forEach((k, i) => {
      // first-order Meta-SGD: the gradient enters as a constant
      const gk = keepGraph ? grads[i]! : tf.tensor(grads[i]!.dataSync(), grads[i]!.shape)
      next[k] = tf.sub(cur[k]!, tf.mul(model.vars.get(`lr.${k}`)!, gk))
    })
    cur = next
  }
  return cur
}

/** Min-max scaling of the reference latencies: HELP's hardware embedding. */
export function helpEmbedding(references: ArrayLike<number>): Float32Array {
  const v = Array.from(references)
  for (const [i, x] of v.entries()) {
    if (!Number.isFinite(x) || x <= 0) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `reference latency ${i} is ${x}; latencies must be finite and positive (ms)`,
        value: x,
        path: [i],
      })
    }
  }
  const lo = Math.min(...v)
  const hi = Math.max(...v)
  if (hi === lo) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the ${v.length} reference latencies are all ${lo} ms; the embedding needs them to differ`,
      value: lo,
    })
  }
  return Float32Array.from(v, (x) => (x - lo) / (hi - lo))
}

/** HELP's target scaling: `(ms - lo) / (hi - lo) * 0.9 + 0.05`. */
export interface HelpRange {
  readonly lo: number
  readonly hi: number
}
const toTarget = (ms: number, r: HelpRange) => ((ms - r.lo) / (r.hi - r.lo)) * 0.9 + 0.05

/** One device's data for meta-training: latencies (ms) aligned with the architecture list. */
export interface HelpDevice {
  readonly name: string
  readonly latency: ArrayLike<number>
}

/** Progress of meta-training. */
export interface HelpProgress {
  readonly episode: number
  readonly episodes: number
  readonly loss: number
  /** Mean Spearman over the validation devices, when this episode was validated. */
  readonly validation?: number
  readonly best?: number
  /** Set on the value `metaTrainHelp` returns when its signal stopped it before the last episode. */
  readonly stopped?: boolean
}

/** Options of {@link metaTrainHelp}; the defaults are HELP's NB201 settings. */
export interface MetaTrainHelpOptions {
  /** Every architecture, as graphs (index = the index the latencies use). */
  readonly graphs: readonly HelpGraph[]
  readonly devices: readonly HelpDevice[]
  /** Indices of the architectures support and query sets are drawn from (HELP: the first 900). */
  readonly pool: readonly number[]
  /** Episodes (HELP: 2000) of `tasks` devices each (HELP: 8). */
  readonly episodes?: number
  readonly tasks?: number
  /** Support (HELP: 10) and query (HELP: 200) architectures per task. */
  readonly support?: number
  readonly query?: number
  /** Share of the fastest and of the slowest pool architectures left out per device (HELP: 0.1). */
  readonly trim?: number
  /** Devices and query indices checked every `every` episodes (HELP: 50); the best model is kept. */
  readonly validation?: {
    readonly devices: readonly HelpDevice[]
    readonly query: readonly number[]
    readonly every?: number
  }
  readonly onProgress?: (p: HelpProgress) => void
  readonly signal?: AbortSignal
}

/** The pool without the fastest and slowest `trim` share for one device (HELP's outlier removal). */
export function trimmedPool(pool: readonly number[], latency: ArrayLike<number>, trim: number): number[] {
  const sorted = [...pool].sort((a, b) => latency[a]! - latency[b]! || a - b)
  return sorted.slice(Math.floor(sorted.length * trim), Math.floor(sorted.length * (1 - trim)))
}

function rangeOf(idx: readonly number[], latency: ArrayLike<number>): HelpRange {
  let lo = Infinity
  let hi = -Infinity
  for (const i of idx) {
    lo = Math.min(lo, latency[i]!)
    hi = Math.max(hi, latency[i]!)
  }
  return { lo, hi }
}

function checkDevice(d: HelpDevice, n: number, refs: readonly number[]): void {
  if (d.latency.length !== n) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `device '${d.name}' has ${d.latency.length} latencies; there are ${n} architectures`,
      value: d.latency.length,
      allowed: [n],
    })
  }
  helpEmbedding(refs.map((i) => d.latency[i]!))
}

/**
 * Meta-trains a HELP model over devices (HELP's algorithm 1): each episode draws `tasks` devices,
 * adapts to each from `support` architectures with `innerSteps` Meta-SGD steps from the z-modulated
 * weights, and updates the meta-parameters (weights, inner learning rates, z inference network) with
 * Adam on the query loss plus the KL term. With `validation`, the episode with the best mean
 * Spearman on the validation devices is the one kept (HELP's checkpoint rule). A signal that fires
 * after the first episode ends the run early with what it has (`stopped` in the returned progress).
 */
export async function metaTrainHelp(model: HelpModel, opts: MetaTrainHelpOptions): Promise<HelpProgress> {
  await prepareHelpTf()
  const tf = activeTf()
  const cfg = model.config
  const episodes = opts.episodes ?? 2000
  const tasks = opts.tasks ?? 8
  const nSupport = opts.support ?? 10
  const nQuery = opts.query ?? 200
  const trim = opts.trim ?? 0.1
  const n = opts.graphs.length
  if (opts.devices.length === 0) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: 'meta-training needs at least one device',
      value: [],
    })
  }
  for (const d of [...opts.devices, ...(opts.validation?.devices ?? [])]) checkDevice(d, n, model.references)
  for (const i of [...opts.pool, ...(opts.validation?.query ?? [])]) {
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `architecture index ${i} is outside 0..${n - 1}`,
        value: i,
      })
    }
  }
  const rng = new Rng(`${cfg.seed}/meta-train`)
  const pools = new Map(opts.devices.map((d) => [d.name, trimmedPool(opts.pool, d.latency, trim)]))
  const rangeFor = (d: HelpDevice, pool: readonly number[]) =>
    rangeOf(cfg.targetRange === 'references' ? model.references : pool, d.latency)
  const ranges = new Map(opts.devices.map((d) => [d.name, rangeFor(d, pools.get(d.name)!)]))
  if ([...pools.values()].some((p) => p.length < nSupport + 1)) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `the pool of ${opts.pool.length} architectures (less ${trim * 100} % at each end) is too small for ${nSupport} support architectures`,
      value: opts.pool.length,
    })
  }
  const optimizer = tf.train.adam(cfg.metaLr)
  const varList = [...model.vars.values()]
  const every = opts.validation?.every ?? 50
  let best = -Infinity
  let bestEpisode = 0
  let bestValues: Map<string, Float32Array> | undefined
  let last: HelpProgress = { episode: 0, episodes, loss: NaN }
  let done = 0
  try {
    for (let ep = 1; ep <= episodes; ep++) {
      if (opts.signal?.aborted) {
        // nothing done yet: an error; otherwise the episodes run so far are kept, as a shorter run
        if (ep === 1) {
          throw new NasError({
            code: 'ABORTED',
            message: 'HELP meta-training stopped before its first episode',
          })
        }
        last = { ...last, stopped: true }
        break
      }
      const chosen = rng.sample(opts.devices, Math.min(tasks, opts.devices.length))
      const batches = chosen.map((d) => {
        const pool = rng.shuffle(pools.get(d.name)!)
        const sup = pool.slice(0, nSupport)
        const qry = pool.slice(nSupport, nSupport + nQuery)
        const r = ranges.get(d.name)!
        return {
          hw: helpEmbedding(model.references.map((i) => d.latency[i]!)),
          sup: sup.map((i) => opts.graphs[i]!),
          ys: Float32Array.from(sup, (i) => toTarget(d.latency[i]!, r)),
          qry: qry.map((i) => opts.graphs[i]!),
          yq: Float32Array.from(qry, (i) => toTarget(d.latency[i]!, r)),
        }
      })
      const lossValue = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          let total: TF.Scalar = tf.scalar(0)
          for (const b of batches) {
            const hw = tf.tensor2d(b.hw, [1, b.hw.length])
            const { params, kl } = modulated(tf, model, hw, rng)
            const sup = graphBatch(tf, model, b.sup)
            const adapted = adapt(
              tf,
              model,
              params,
              sup,
              tf.tensor2d(b.ys, [b.ys.length, 1]),
              hw,
              cfg.secondOrder,
            )
            const q = graphBatch(tf, model, b.qry)
            const lq = mse(tf, forward(tf, cfg, adapted, q, hw), tf.tensor2d(b.yq, [b.yq.length, 1]))
            total = tf.add(total, tf.add(tf.div(lq, batches.length), tf.mul(cfg.klScaling, kl)))
          }
          return total
        }, varList)
        optimizer.applyGradients(grads as unknown as Parameters<typeof optimizer.applyGradients>[0])
        return value.dataSync()[0]!
      })
      let validation: number | undefined
      if (opts.validation && (ep % every === 0 || ep === episodes)) {
        const scores = opts.validation.devices.map((d) => {
          const pool = rng.shuffle(trimmedPool(opts.pool, d.latency, trim)).slice(0, nSupport)
          const query = trimmedPool(opts.validation!.query, d.latency, trim)
          const fitted = adaptHelp(model, {
            references: model.references.map((i) => d.latency[i]!),
            support: pool.map((i) => ({ graph: opts.graphs[i]!, ms: d.latency[i]! })),
            range: rangeFor(d, trimmedPool(opts.pool, d.latency, trim)),
            seed: rng.int(2 ** 31),
          })
          try {
            const pred = fitted.predict(query.map((i) => opts.graphs[i]!)).normalized
            return spearmanRho(
              pred,
              query.map((i) => d.latency[i]!),
            )
          } finally {
            fitted.dispose()
          }
        })
        validation = scores.reduce((a, b) => a + b, 0) / scores.length
        if (validation > best) {
          best = validation
          bestEpisode = ep
          bestValues = new Map([...model.vars].map(([k, v]) => [k, v.dataSync() as Float32Array]))
        }
      }
      last = {
        episode: ep,
        episodes,
        loss: lossValue,
        ...(validation !== undefined ? { validation, best } : {}),
      }
      opts.onProgress?.(last)
      done = ep
      if (ep % 10 === 0) await new Promise((r) => setTimeout(r, 0))
    }
  } finally {
    optimizer.dispose()
  }
  if (bestValues) {
    tf.tidy(() => {
      for (const [k, v] of bestValues) model.vars.get(k)!.assign(tf.tensor(v, model.vars.get(k)!.shape))
    })
  }
  model.rangeReferences = extremesOf(opts.devices, pools)
  model.training = {
    devices: opts.devices.map((d) => d.name),
    episodes: (model.training?.episodes ?? 0) + done,
    kept: bestValues ? bestEpisode : done,
    ...(bestValues ? { validation: best } : {}),
  }
  return last
}

/** The architectures in every device's trimmed pool with the lowest and the highest mean latency rank. */
function extremesOf(devices: readonly HelpDevice[], pools: ReadonlyMap<string, number[]>): number[] {
  const rank = new Map<number, number>()
  const count = new Map<number, number>()
  for (const d of devices) {
    pools.get(d.name)!.forEach((i, r) => {
      rank.set(i, (rank.get(i) ?? 0) + r)
      count.set(i, (count.get(i) ?? 0) + 1)
    })
  }
  let lo = -1
  let hi = -1
  for (const [i, r] of rank) {
    if (count.get(i) !== devices.length) continue
    if (lo < 0 || r < rank.get(lo)! || (r === rank.get(lo)! && i < lo)) lo = i
    if (hi < 0 || r > rank.get(hi)! || (r === rank.get(hi)! && i < hi)) hi = i
  }
  return lo < 0 ? [] : [lo, hi]
}

/** A HELP model adapted to one device. Call `dispose()` to free its adapted weights. */
export interface AdaptedHelp {
  /**
   * Predictions for graphs: `normalized` on the model's target scale (for ranking), `ms` mapped to
   * milliseconds as HELP does: the range of the support's predictions onto the range of its
   * measured latencies.
   */
  predict(graphs: readonly HelpGraph[]): { normalized: Float64Array; ms: Float64Array }
  dispose(): void
}

/**
 * Adapts a meta-trained HELP model to a device from the latencies of the reference architectures
 * (the embedding) and of a few measured support architectures (HELP: 10), `mcSamples` times with
 * z sampled each time; predictions average the samples.
 */
export function adaptHelp(
  model: HelpModel,
  opts: {
    /** Latencies (ms) of the model's reference architectures on the device, in its order. */
    readonly references: ArrayLike<number>
    /** Measured architectures of the device. */
    readonly support: readonly { readonly graph: HelpGraph; readonly ms: number }[]
    /** Latencies (ms) of the model's `rangeReferences` on the device, when measured. */
    readonly rangeLatencies?: ArrayLike<number>
    /**
     * Latency range for the targets; default the range of the reference latencies for a model
     * meta-trained with `targetRange: 'references'`, otherwise of everything measured: references,
     * range references and support.
     */
    readonly range?: HelpRange
    readonly seed?: number
  },
): AdaptedHelp {
  const tf = activeTf()
  const cfg = model.config
  if (opts.references.length !== model.references.length) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `this HELP model's embedding reads ${model.references.length} reference latencies; got ${opts.references.length}`,
      value: opts.references.length,
      allowed: [model.references.length],
    })
  }
  const emb = helpEmbedding(opts.references)
  if (opts.support.length < 2) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `adaptation needs at least 2 measured architectures; got ${opts.support.length}`,
      value: opts.support.length,
    })
  }
  for (const [i, s] of opts.support.entries()) {
    if (!Number.isFinite(s.ms) || s.ms <= 0) {
      throw new NasError({
        code: 'INPUT_INVALID',
        message: `support latency ${i} is ${s.ms}; it must be finite and positive (ms)`,
        value: s.ms,
        path: [i],
      })
    }
  }
  if (opts.rangeLatencies !== undefined && opts.rangeLatencies.length !== model.rangeReferences.length) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: `this HELP model has ${model.rangeReferences.length} range references; got ${opts.rangeLatencies.length} latencies for them`,
      value: opts.rangeLatencies.length,
      allowed: [model.rangeReferences.length],
    })
  }
  const all = [
    ...Array.from(opts.references),
    ...Array.from(opts.rangeLatencies ?? []),
    ...opts.support.map((s) => s.ms),
  ]
  const refs = Array.from(opts.references)
  const range =
    opts.range ??
    (cfg.targetRange === 'references'
      ? { lo: Math.min(...refs), hi: Math.max(...refs) }
      : { lo: Math.min(...all), hi: Math.max(...all) })
  const rng = new Rng(opts.seed ?? cfg.seed)
  const hw = tf.tensor2d(emb, [1, emb.length])
  const sets: Params[] = []
  try {
    const names = model.specs.filter((s) => MODEL_PREFIX.test(s.name)).map((s) => s.name)
    for (let m = 0; m < cfg.mcSamples; m++) {
      const kept = tf.tidy(() => {
        const { params } = modulated(tf, model, hw, rng)
        const g = graphBatch(
          tf,
          model,
          opts.support.map((s) => s.graph),
        )
        const y = tf.tensor2d(
          opts.support.map((s) => toTarget(s.ms, range)),
          [opts.support.length, 1],
        )
        const adapted = adapt(tf, model, params, g, y, hw, false)
        // tidy keeps what it returns: copies, so that no model variable is ever handed out
        return names.map((k) => tf.clone(adapted[k]!))
      })
      const p: Params = {}
      names.forEach((k, i) => (p[k] = kept[i]!))
      sets.push(p)
    }
  } catch (e) {
    hw.dispose()
    for (const p of sets) for (const t of Object.values(p)) t.dispose()
    throw e
  }
  const predictNormalized = (graphs: readonly HelpGraph[]): Float64Array => {
    if (graphs.length === 0) return new Float64Array(0)
    const out = tf.tidy(() => {
      const g = graphBatch(tf, model, graphs)
      let sum: TF.Tensor = tf.zeros([graphs.length, 1])
      for (const p of sets) sum = tf.add(sum, forward(tf, cfg, p, g, hw))
      return tf.div(sum, sets.length)
    })
    const v = Float64Array.from(out.dataSync())
    out.dispose()
    return v
  }
  // HELP's denormalisation: the support's predicted range onto its measured range
  const supPred = predictNormalized(opts.support.map((s) => s.graph))
  const pLo = Math.min(...supPred)
  const pHi = Math.max(...supPred)
  const mLo = Math.min(...opts.support.map((s) => s.ms))
  const mHi = Math.max(...opts.support.map((s) => s.ms))
  return {
    predict(graphs) {
      const normalized = predictNormalized(graphs)
      // a model scaled by its references in meta-training and here reads back through that scale;
      // otherwise the scales differ and the support's range calibrates
      const ms =
        cfg.targetRange === 'references'
          ? normalized.map((v) => range.lo + ((v - 0.05) / 0.9) * (range.hi - range.lo))
          : normalized.map((v) => (pHi > pLo ? ((v - pLo) / (pHi - pLo)) * (mHi - mLo) + mLo : mLo))
      return { normalized, ms }
    },
    dispose() {
      hw.dispose()
      for (const p of sets) for (const t of Object.values(p)) t.dispose()
      sets.length = 0
    },
  }
}
