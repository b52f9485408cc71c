import type { Rng } from '@nasjs/core'
import type { Dense } from './validate.js'

/**
 * Histogram regression trees shared by the random forest and gradient boosting. Each feature is cut
 * into at most `maxBins` bins once (midpoints between distinct values, or quantiles when there are
 * more), so finding the best split of a node costs O(rows + bins) per feature instead of a sort
 * (the idea of LightGBM, Ke et al. 2017). Architecture encodings are mostly binary or small
 * integers, so the binning is exact for them. We write these ourselves: no maintained JS library
 * offers histogram trees, per-tree predictions for uncertainty and gradient boosting together.
 * @internal
 */
export interface Binned {
  /** Column-major bin codes: `codes[f * rows + i]`. */
  readonly codes: Uint8Array
  readonly rows: number
  readonly cols: number
  /** Per feature, ascending cut points: bin b holds values <= cuts[b] (and > cuts[b - 1]). */
  readonly cuts: readonly Float64Array[]
}

/** Bins the columns of a dense matrix. @internal */
export function binFeatures(X: Dense, maxBins = 64): Binned {
  const { rows, cols, data } = X
  const codes = new Uint8Array(rows * cols)
  const cuts: Float64Array[] = []
  const col = new Float64Array(rows)
  for (let f = 0; f < cols; f++) {
    for (let i = 0; i < rows; i++) col[i] = data[i * cols + f]!
    const sorted = Float64Array.from(col).sort()
    const distinct: number[] = []
    for (let i = 0; i < rows; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]!)
    let c: number[]
    if (distinct.length <= maxBins) {
      c = []
      for (let k = 0; k + 1 < distinct.length; k++) c.push((distinct[k]! + distinct[k + 1]!) / 2)
    } else {
      const set = new Set<number>()
      for (let b = 1; b < maxBins; b++) {
        const q = sorted[Math.floor((b * rows) / maxBins)]!
        const k = distinct.indexOf(q)
        const nextV = distinct[k + 1]
        if (nextV !== undefined) set.add((q + nextV) / 2)
      }
      c = [...set].sort((a, b) => a - b)
    }
    const cf = Float64Array.from(c)
    cuts.push(cf)
    for (let i = 0; i < rows; i++) codes[f * rows + i] = binOf(cf, col[i]!)
  }
  return { codes, rows, cols, cuts }
}

function binOf(cuts: Float64Array, v: number): number {
  let lo = 0
  let hi = cuts.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (v <= cuts[mid]!) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** A fitted regression tree in flat arrays; leaves have feature -1. @internal */
export interface Tree {
  readonly feature: Int32Array
  readonly threshold: Float64Array
  readonly left: Int32Array
  readonly right: Int32Array
  readonly value: Float64Array
}

/** Options of {@link growTree}. @internal */
export interface TreeOptions {
  readonly maxDepth: number
  readonly minSamplesLeaf: number
  /** How many features each split considers (all when >= cols). */
  readonly maxFeatures: number
  /** L2 penalty on leaf values: a leaf predicts sum / (count + lambda). 0 for plain means. */
  readonly lambda: number
  /** Minimum gain for a split. */
  readonly minGain: number
}

/**
 * Grows one least-squares tree on `target` over the rows `sample` (duplicates allowed, as in a
 * bootstrap sample). @internal
 */
export function growTree(
  b: Binned,
  target: Float64Array,
  sample: Int32Array,
  opts: TreeOptions,
  rng: Rng,
): Tree {
  const feature: number[] = []
  const threshold: number[] = []
  const left: number[] = []
  const right: number[] = []
  const value: number[] = []
  const nBins = 256
  const hSum = new Float64Array(nBins)
  const hCnt = new Float64Array(nBins)
  const allFeatures = Array.from({ length: b.cols }, (_, f) => f)
  const idx = Int32Array.from(sample)
  const scratch = new Int32Array(idx.length)

  const makeLeaf = (sum: number, cnt: number) => {
    const id = feature.length
    feature.push(-1)
    threshold.push(0)
    left.push(-1)
    right.push(-1)
    value.push(sum / (cnt + opts.lambda))
    return id
  }

  // Depth-first recursion over index ranges of idx (depth is bounded by maxDepth).
  const build = (start: number, end: number, depth: number): number => {
    const cnt = end - start
    let sum = 0
    for (let k = start; k < end; k++) sum += target[idx[k]!]!
    if (depth >= opts.maxDepth || cnt < 2 * opts.minSamplesLeaf) return makeLeaf(sum, cnt)
    const parentScore = (sum * sum) / (cnt + opts.lambda)
    let bestGain = opts.minGain
    let bestF = -1
    let bestBin = -1
    const feats = opts.maxFeatures >= b.cols ? allFeatures : rng.sample(allFeatures, opts.maxFeatures)
    for (const f of feats) {
      const nb = b.cuts[f]!.length + 1
      if (nb < 2) continue
      hSum.fill(0, 0, nb)
      hCnt.fill(0, 0, nb)
      const off = f * b.rows
      for (let k = start; k < end; k++) {
        const r = idx[k]!
        const c = b.codes[off + r]!
        hSum[c]! += target[r]!
        hCnt[c]! += 1
      }
      let sl = 0
      let cl = 0
      for (let bin = 0; bin < nb - 1; bin++) {
        sl += hSum[bin]!
        cl += hCnt[bin]!
        if (cl < opts.minSamplesLeaf) continue
        const cr = cnt - cl
        if (cr < opts.minSamplesLeaf) break
        const sr = sum - sl
        const gain = (sl * sl) / (cl + opts.lambda) + (sr * sr) / (cr + opts.lambda) - parentScore
        if (gain > bestGain) {
          bestGain = gain
          bestF = f
          bestBin = bin
        }
      }
    }
    if (bestF < 0) return makeLeaf(sum, cnt)
    // Partition idx[start, end) by the split (stable, through the scratch buffer).
    const off = bestF * b.rows
    let lo = start
    let hiN = 0
    for (let k = start; k < end; k++) {
      const r = idx[k]!
      if (b.codes[off + r]! <= bestBin) idx[lo++] = r
      else scratch[hiN++] = r
    }
    for (let k = 0; k < hiN; k++) idx[lo + k] = scratch[k]!
    const id = feature.length
    feature.push(bestF)
    threshold.push(b.cuts[bestF]![bestBin]!)
    left.push(-1)
    right.push(-1)
    value.push(sum / (cnt + opts.lambda))
    const l = build(start, lo, depth + 1)
    const rr = build(lo, end, depth + 1)
    left[id] = l
    right[id] = rr
    return id
  }
  build(0, idx.length, 0)
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float64Array.from(value),
  }
}

/** The tree's prediction for row `i` of a dense matrix. @internal */
export function predictTree(t: Tree, X: Dense, i: number): number {
  let node = 0
  const o = i * X.cols
  for (;;) {
    const f = t.feature[node]!
    if (f < 0) return t.value[node]!
    node = X.data[o + f]! <= t.threshold[node]! ? t.left[node]! : t.right[node]!
  }
}
