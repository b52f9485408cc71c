import { NasError } from '@nasjs/core'
import type { Batch, Dataset } from '@nasjs/models'
import { batches, crossEntropy, parseConfig } from '@nasjs/models'
import type { Nb201Arch } from '@nasjs/search-space'
import * as tf from '@tensorflow/tfjs-core'
import { z } from 'zod'
import { CELL_OPS, CellSupernet, type CellSupernetConfig } from './cell-supernet.js'
import { perturbationSelect, supernetAccuracy } from './perturbation.js'
import {
  OneShotConfig,
  searchCell,
  type OneShotProgress,
  type OneShotResult,
  type OneShotState,
} from './search.js'

/**
 * How one edge would split (see {@link gradientMatchingSplit}).
 * @since 0.2.0
 */
export interface EdgeSplit {
  readonly edge: number
  /** The two groups of operation indices (CELL_OPS order), the smaller first. */
  readonly groups: readonly [readonly number[], readonly number[]]
  /** The sum of the gradient distances between the groups (higher: the groups disagree more). */
  readonly score: number
  /** The mean gradient distance, 1 - cosine, between every two operations of the edge (5 x 5). */
  readonly distances: readonly (readonly number[])[]
}

/**
 * Options of {@link gradientMatchingSplit}.
 * @since 0.2.0
 */
export interface GradientMatchOptions {
  /** Training batches the distances are averaged over (4). */
  readonly batches?: number
  readonly batchSize?: number
  /** Seed of the batches' order. */
  readonly seed?: number
}

const EDGE_PARAM = /^s\d+c\d+e(\d+)\//

/**
 * The gradient matching split of few-shot NAS (Hu et al. 2022, "Generalizing Few-Shot NAS with
 * Gradient Matching"), on the edges of `net` that are not split yet (every operation allowed). For
 * such an edge e and each of its operations k, the supernet runs with e fixed to k alone (its other
 * edges mixed by softmax(alpha), as the supernet trains) and the cross-entropy on a training batch
 * gives the gradient of the shared weights: every network weight except edge e's own, in every
 * cell. The distance of two operations is 1 - cosine of their gradients, averaged over `batches`
 * batches. The edge's operations are then cut into two groups, floor(n/2) and the rest, the cut
 * with the least distance within the groups; the edge's score is the distance across the cut. The
 * edge with the highest score, whose operations disagree most on how to update the shared weights,
 * is the one to split. Leaks no tensor; changes no weight.
 * @since 0.2.0
 * @category one-shot
 */
export function gradientMatchingSplit(
  net: CellSupernet,
  data: Dataset,
  options: GradientMatchOptions = {},
): EdgeSplit & { readonly edges: readonly EdgeSplit[] } {
  const nBatches = options.batches ?? 4
  const batchSize = options.batchSize ?? 64
  for (const [name, v, min] of [
    ['batches', nBatches, 1],
    ['batchSize', batchSize, 2],
  ] as const) {
    if (!Number.isInteger(v) || v < min) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `${name} must be an integer >= ${min}, got ${v}`,
        value: v,
        path: [name],
      })
    }
  }
  const mask = net.config.opMask
  const candidates =
    CELL_OPS.length > 1 ? [0, 1, 2, 3, 4, 5].filter((e) => mask?.[e]!.every(Boolean) ?? true) : []
  if (candidates.length === 0) {
    throw new NasError({
      code: 'INPUT_INVALID',
      message: 'every edge of this supernet is split already: nothing left to split',
      value: mask,
    })
  }
  const shape = net.config.inputShape
  const theta = net.opWeights()
  const picked: Batch[] = []
  for (const b of batches(data, { batchSize, shuffleSeed: (options.seed ?? 0) * 1_000_003 + 90_001 })) {
    picked.push(b)
    if (picked.length === nBatches) break
  }
  const edges: EdgeSplit[] = []
  const names = net.weightNames
  for (const e of candidates) {
    const shared = net.weights.filter((_, i) => {
      const m = EDGE_PARAM.exec(names[i]!)
      return m === null || Number(m[1]) !== e
    })
    const ops = CELL_OPS.length
    const dist = Array.from({ length: ops }, () => new Array<number>(ops).fill(0))
    for (const b of picked) {
      const grads = CELL_OPS.map((_, k) =>
        tf.tidy(() => {
          const w = theta.map((row, i) => (i === e ? row.map((_, j) => (j === k ? 1 : 0)) : row))
          const x = tf.tensor4d(b.xs, [b.n, ...shape])
          const y = tf.tensor1d(b.ys, 'float32')
          const { value, grads } = tf.variableGrads(
            () =>
              crossEntropy(
                net.forward(x, { kind: 'weights', weights: tf.tensor2d(w) }),
                y,
                net.config.classes,
              ),
            shared,
          )
          value.dispose()
          // one vector of every shared weight's gradient (zeros where a weight got none)
          return tf.concat(shared.map((v) => tf.reshape(grads[v.name] ?? tf.zerosLike(v), [-1])))
        }),
      )
      const norms = grads.map((g) => tf.tidy(() => Math.sqrt(tf.sum(tf.square(g)).dataSync()[0]!)))
      for (let i = 0; i < ops; i++) {
        for (let j = i + 1; j < ops; j++) {
          const dot = tf.tidy(() => tf.sum(tf.mul(grads[i]!, grads[j]!)).dataSync()[0]!)
          const d = 1 - dot / (norms[i]! * norms[j]! + 1e-6)
          dist[i]![j]! += d / picked.length
          dist[j]![i]! += d / picked.length
        }
      }
      tf.dispose(grads)
    }
    edges.push({ edge: e, ...bestCut(dist), distances: dist })
  }
  const best = edges.reduce((a, b) => (b.score > a.score ? b : a))
  return { ...best, edges }
}

/** The cut of the operations into floor(n/2) and the rest with the least distance within the groups. */
function bestCut(dist: readonly (readonly number[])[]): Pick<EdgeSplit, 'groups' | 'score'> {
  const n = dist.length
  const all = Array.from({ length: n }, (_, i) => i)
  const within = (g: readonly number[]) => {
    let s = 0
    for (let a = 0; a < g.length; a++) for (let b = a + 1; b < g.length; b++) s += dist[g[a]!]![g[b]!]!
    return s
  }
  const total = within(all)
  const size = Math.floor(n / 2)
  let best: { groups: [number[], number[]]; w: number } | undefined
  const choose = (start: number, chosen: number[]) => {
    if (chosen.length === size) {
      const rest = all.filter((i) => !chosen.includes(i))
      const w = within(chosen) + within(rest)
      if (best === undefined || w < best.w) best = { groups: [[...chosen], rest], w }
      return
    }
    for (let i = start; i < n; i++) choose(i + 1, [...chosen, i])
  }
  choose(0, [])
  return { groups: best!.groups, score: total - best!.w }
}

/**
 * Few-shot NAS with gradient matching on the NB201 cell supernet (zod, strict): the supernet and the
 * search of every sub-supernet (DARTS or RARTS; `search.epochs` is the whole run), and the epochs
 * after which every current supernet splits in two. With splits after epochs 4 and 7 of 10, one
 * supernet trains 4 epochs, two sub-supernets continue to epoch 7, and four to epoch 10.
 * @since 0.2.0
 * @category one-shot
 */
export const FewShotConfig = z
  .object({
    supernet: z
      .record(z.string(), z.unknown())
      .default({})
      .refine((s) => !('opMask' in s), { message: 'the splits set the operation masks' })
      .describe('the CellSupernet config (every field but opMask)'),
    search: z.record(z.string(), z.unknown()).default({}).describe('the OneShotConfig of every sub-supernet'),
    splitEpochs: z
      .array(z.number().int().min(1))
      .min(1)
      .default([4, 7])
      .refine((xs) => xs.every((x, i) => i === 0 || x > xs[i - 1]!), {
        message: 'split epochs must increase',
      }),
    matchBatches: z.number().int().min(1).default(4).describe('batches the gradient distances average over'),
    selection: z
      .enum(['alpha', 'perturbation'])
      .default('alpha')
      .describe(
        "how each final sub-supernet reads its cell: 'alpha' the largest allowed architecture weight per edge; 'perturbation' perturbation-based selection (perturbationSelect) among the allowed operations",
      ),
  })
  .strict()
/** @since 0.2.0 */
export type FewShotConfig = z.input<typeof FewShotConfig>

/**
 * One split of a few-shot search: sub-supernet `path` ('' the first; a child adds 0 or 1) split on
 * `edge`.
 * @since 0.2.0
 */
export interface FewShotSplit extends EdgeSplit {
  readonly path: string
  /** The scores of every edge that was a candidate. */
  readonly candidates: readonly Pick<EdgeSplit, 'edge' | 'score' | 'groups'>[]
}

/**
 * One sub-supernet at the end of a few-shot search.
 * @since 0.2.0
 */
export interface FewShotLeaf {
  readonly path: string
  readonly opMask: readonly (readonly boolean[])[]
  /**
   * The derived cell: the largest architecture weight of every edge among its allowed operations,
   * or the cell perturbation-based selection chose (`selection: 'perturbation'`).
   */
  readonly arch: Nb201Arch
  /** The supernet's accuracy on the validation data with the derived cell alone (0..1). */
  readonly validAccuracy: number
  readonly history: OneShotResult['history']
}

/**
 * What {@link fewShotSearch} found.
 * @since 0.2.0
 */
export interface FewShotResult {
  readonly status: OneShotResult['status']
  readonly reason?: string
  /** The derived cell of the leaf with the best validation accuracy. */
  readonly arch?: Nb201Arch
  readonly best?: string
  readonly splits: readonly FewShotSplit[]
  readonly leaves: readonly FewShotLeaf[]
  readonly seconds: number
}

/**
 * Options of {@link fewShotSearch}.
 * @since 0.2.0
 */
export interface FewShotOptions {
  readonly signal?: AbortSignal
  readonly onProgress?: (p: OneShotProgress & { readonly path: string }) => void
  /** A sub-supernet's checkpoint (every epoch, and when stopped), to save. */
  readonly onCheckpoint?: (path: string, state: OneShotState) => void | Promise<void>
  /** The saved checkpoint of a sub-supernet, if any: the search resumes from it. */
  readonly load?: (path: string) => OneShotState | undefined
  readonly onSplit?: (split: FewShotSplit) => void
}

/**
 * Few-shot NAS (Zhao et al. 2021) with the gradient matching split (Hu et al. 2022): a one-shot
 * supernet trains with DARTS (or RARTS) until the first split epoch, then splits into two
 * sub-supernets on the edge {@link gradientMatchingSplit} picks, each keeping one group of that
 * edge's operations and inheriting the weights, the architecture weights and the optimiser states;
 * each continues the same schedule to the next split epoch and splits again, until `search.epochs`.
 * Each final sub-supernet derives its cell (the largest allowed alpha per edge, or with `selection:
 * 'perturbation'` by perturbation-based selection among its allowed operations, the supernet's
 * weights tuned as it decides), scored by the sub-supernet's accuracy on `valid` with that cell
 * alone; the best is the result, as the reference picks the sub-supernet of the best validation
 * accuracy. Every sub-supernet checkpoints (by path)
 * and resumes from `load`; a split is computed again from the restored weights, so it is the same.
 * @since 0.2.0
 * @category one-shot
 */
export async function fewShotSearch(
  train: Dataset,
  valid: Dataset,
  config: FewShotConfig = {},
  options: FewShotOptions = {},
): Promise<FewShotResult> {
  const c = parseConfig(FewShotConfig, config, 'few-shot search option')
  const search = parseConfig(OneShotConfig, c.search as OneShotConfig, 'one-shot search option')
  if (search.method !== 'darts' && search.method !== 'rarts') {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `few-shot NAS trains its sub-supernets with DARTS or RARTS, got ${search.method}`,
      value: search.method,
      allowed: ['darts', 'rarts'],
      path: ['search', 'method'],
    })
  }
  if (c.splitEpochs.at(-1)! >= search.epochs) {
    throw new NasError({
      code: 'CONFIG_INVALID',
      message: `every split epoch must come before the last epoch (${search.epochs}), got ${c.splitEpochs.join(', ')}`,
      value: c.splitEpochs,
      path: ['splitEpochs'],
    })
  }
  const t0 = performance.now()
  const stepsPerEpoch = Math.ceil(train.y.length / search.batchSize)
  const ends = [...c.splitEpochs, search.epochs]
  let level: { path: string; mask: boolean[][]; from?: OneShotState }[] = [
    { path: '', mask: Array.from({ length: 6 }, () => CELL_OPS.map(() => true)) },
  ]
  const splits: FewShotSplit[] = []
  const leaves: FewShotLeaf[] = []
  for (const [depth, end] of ends.entries()) {
    const next: typeof level = []
    for (const node of level) {
      const net = new CellSupernet({
        ...(c.supernet as CellSupernetConfig),
        ...(depth === 0 ? {} : { opMask: node.mask }),
      })
      try {
        const saved = options.load?.(node.path)
        let state = saved ?? node.from
        const r = await searchCell(net, train, valid, search, {
          ...(state === undefined ? {} : { resume: state }),
          maxSteps: end * stepsPerEpoch,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          onProgress: (p) => options.onProgress?.({ ...p, path: node.path }),
          onCheckpoint: async (s) => {
            state = s
            await options.onCheckpoint?.(node.path, s)
          },
        })
        if (r.status === 'aborted' || r.status === 'failed') {
          return {
            status: r.status,
            ...(r.reason === undefined ? {} : { reason: r.reason }),
            splits,
            leaves,
            seconds: (performance.now() - t0) / 1000,
          }
        }
        if (depth < c.splitEpochs.length) {
          const s = gradientMatchingSplit(net, train, {
            batches: c.matchBatches,
            batchSize: search.batchSize,
            seed: search.seed + depth,
          })
          const split: FewShotSplit = {
            path: node.path,
            edge: s.edge,
            groups: s.groups,
            score: s.score,
            distances: s.distances,
            candidates: s.edges.map((x) => ({ edge: x.edge, score: x.score, groups: x.groups })),
          }
          splits.push(split)
          options.onSplit?.(split)
          s.groups.forEach((g, i) => {
            const mask = node.mask.map((row, e) =>
              e === s.edge ? row.map((_, k) => g.includes(k)) : [...row],
            )
            next.push({ path: `${node.path}${i}`, mask, from: state! })
          })
        } else {
          let arch = net.derive()
          if (c.selection === 'perturbation') {
            try {
              const sel = await perturbationSelect(net, train, valid, {
                seed: search.seed,
                batchSize: search.batchSize,
                ...(options.signal === undefined ? {} : { signal: options.signal }),
              })
              arch = sel.arch
            } catch (e) {
              // stopped mid-selection: the sub-supernet's checkpoint is from before it, so a resume
              // selects again from the same weights
              if (!(e instanceof NasError && e.code === 'ABORTED')) throw e
              return { status: 'aborted', splits, leaves, seconds: (performance.now() - t0) / 1000 }
            }
          }
          leaves.push({
            path: node.path,
            opMask: node.mask,
            arch,
            validAccuracy: supernetAccuracy(net, valid, { kind: 'arch', arch }),
            history: r.history,
          })
        }
      } finally {
        net.dispose()
      }
    }
    level = next
  }
  const best = leaves.reduce((a, b) => (b.validAccuracy > a.validAccuracy ? b : a))
  return {
    status: 'complete',
    arch: best.arch,
    best: best.path,
    splits,
    leaves,
    seconds: (performance.now() - t0) / 1000,
  }
}
