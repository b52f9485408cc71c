import { Rng } from '@nasjs/core'
import type { OfaArch, OfaBlock } from '@nasjs/search-space'

/**
 * The choices a training phase samples subnets from: progressive shrinking opens them one
 * dimension at a time (kernel, then depth, then expansion); BigNAS samples from all of them.
 * @since 0.1.0
 */
export interface Choices {
  readonly kernels: readonly number[]
  readonly expands: readonly number[]
  readonly depths: readonly number[]
  readonly resolutions: readonly number[]
}

/**
 * A subnet drawn uniformly from `choices`: a depth per stage, a kernel and an expand ratio per
 * active block (OFA's `sample_active_subnet`), and a resolution (unless `resolution` is given).
 * @since 0.1.0
 * @category supernet
 */
export function sampleSubnet(choices: Choices, rng: Rng, resolution?: number): OfaArch {
  const stage = (): OfaBlock[] => {
    const d = rng.choice(choices.depths)
    return Array.from({ length: d }, () => ({
      kernel: rng.choice(choices.kernels) as OfaBlock['kernel'],
      expand: rng.choice(choices.expands) as OfaBlock['expand'],
    }))
  }
  return {
    resolution: resolution ?? rng.choice(choices.resolutions),
    stages: [stage(), stage(), stage(), stage(), stage()],
  }
}

/**
 * The largest (or smallest) subnet of `choices` at `resolution`.
 * @since 0.1.0
 * @category supernet
 */
export function extremeSubnet(choices: Choices, which: 'largest' | 'smallest', resolution: number): OfaArch {
  const pick = (xs: readonly number[]) => (which === 'largest' ? Math.max(...xs) : Math.min(...xs))
  const block = { kernel: pick(choices.kernels), expand: pick(choices.expands) } as OfaBlock
  const stage = () => Array.from({ length: pick(choices.depths) }, () => ({ ...block }))
  return { resolution, stages: [stage(), stage(), stage(), stage(), stage()] }
}

/**
 * `arch` with one choice redrawn from `choices`: a stage's depth (blocks added are drawn, blocks
 * dropped are the last), or a block's kernel or expand ratio. The resolution is kept.
 * @since 0.1.0
 * @category supernet
 */
export function mutateSubnet(arch: OfaArch, choices: Choices, rng: Rng): OfaArch {
  const stages = arch.stages.map((st) => st.map((b) => ({ ...b }))) as OfaArch['stages']
  const s = rng.int(5)
  const stage = stages[s]!
  const what = rng.int(3)
  if (what === 0) {
    const d = rng.choice(choices.depths)
    while (stage.length > d) stage.pop()
    while (stage.length < d) {
      stage.push({
        kernel: rng.choice(choices.kernels) as OfaBlock['kernel'],
        expand: rng.choice(choices.expands) as OfaBlock['expand'],
      })
    }
  } else {
    const block = stage[rng.int(stage.length)]!
    if (what === 1) block.kernel = rng.choice(choices.kernels) as OfaBlock['kernel']
    else block.expand = rng.choice(choices.expands) as OfaBlock['expand']
  }
  return { resolution: arch.resolution, stages }
}

/**
 * The state of {@link ComplexitySampler}: per FLOPs bin, the running mean of the training loss of
 * the subnets drawn from it, its change, and how many were drawn.
 * @since 0.1.0
 */
export interface ComplexityState {
  readonly loss: number[]
  readonly gain: number[]
  readonly count: number[]
}

/**
 * Complexity-aware subnet sampling after ShiftNAS (_ShiftNAS: Improving One-shot NAS via Probability Shift_, 2023): instead of drawing subnets
 * uniformly, which piles the training onto middle-sized subnets, it draws a FLOPs bin first and then
 * a subnet in that bin. The bins split [lo, hi] (the phase's smallest and largest subnet, or the range
 * a search needs) evenly; a bin's probability is shifted towards the bins whose subnets' loss still
 * falls fastest (ShiftNAS's "performance variation" per complexity): p(b) is proportional to
 * `floor + max(0, gain(b))`, where gain(b) is the running decrease of the bin's mean loss per draw,
 * mixed half and half with the uniform distribution over bins so every bin keeps being trained.
 * A subnet in the bin is found by search: uniform draws (a quarter of `tries`, 1,000), then single changes
 * ({@link mutateSubnet}) of the nearest that do not move away from the bin; the nearest found is
 * returned when none lands in it. ShiftNAS learns an architecture generator for that step instead (see
 * `trainShiftNas`).
 * @since 0.1.0
 * @category supernet
 */
export class ComplexitySampler {
  private readonly state: { loss: number[]; gain: number[]; count: number[] }

  constructor(
    readonly bins: number,
    readonly flops: (arch: OfaArch) => number,
    state?: ComplexityState,
    readonly tries = 1000,
  ) {
    this.state =
      state === undefined
        ? {
            loss: new Array<number>(bins).fill(NaN),
            gain: new Array<number>(bins).fill(0),
            count: new Array<number>(bins).fill(0),
          }
        : { loss: [...state.loss], gain: [...state.gain], count: [...state.count] }
  }

  /** The bin probabilities now. */
  probabilities(): number[] {
    const g = this.state.gain.map((x) => Math.max(0, x))
    const total = g.reduce((s, x) => s + x, 0)
    const n = this.bins
    return g.map((x) => (total > 0 ? 0.5 / n + (0.5 * x) / total : 1 / n))
  }

  /** A subnet of `choices` drawn as the class describes, its bin, and its FLOPs. */
  sample(
    choices: Choices,
    rng: Rng,
    range: { lo: number; hi: number },
    resolution?: number,
  ): { arch: OfaArch; bin: number } {
    const bin = rng.weightedIndex(this.probabilities())
    const width = (range.hi - range.lo) / this.bins
    const [a, b] = [range.lo + bin * width, range.lo + (bin + 1) * width]
    const gapOf = (arch: OfaArch) => {
      const f = this.flops(arch)
      return f < a ? a - f : f > b ? f - b : 0
    }
    // uniform draws first; then, from the nearest, single changes that do not move away from the
    // bin (uniform draws alone rarely reach the smallest and largest subnets' bins)
    let best = sampleSubnet(choices, rng, resolution)
    let bestGap = gapOf(best)
    for (let t = 1; t < this.tries && bestGap > 0; t++) {
      const next =
        t < this.tries / 4 ? sampleSubnet(choices, rng, resolution) : mutateSubnet(best, choices, rng)
      const gap = gapOf(next)
      if (t < this.tries / 4 ? gap < bestGap : gap <= bestGap) [best, bestGap] = [next, gap]
    }
    return { arch: best, bin }
  }

  /** Records the training loss of a subnet drawn from `bin`. */
  observe(bin: number, loss: number): void {
    const s = this.state
    if (!Number.isFinite(loss)) return
    s.count[bin]!++
    const before = s.loss[bin]!
    if (Number.isNaN(before)) {
      s.loss[bin] = loss
      return
    }
    const next = 0.9 * before + 0.1 * loss
    s.loss[bin] = next
    s.gain[bin] = 0.9 * s.gain[bin]! + 0.1 * (before - next)
  }

  /** The state to checkpoint. */
  snapshot(): ComplexityState {
    return { loss: [...this.state.loss], gain: [...this.state.gain], count: [...this.state.count] }
  }
}

/** The rng of step `step` of a run seeded `seed`: the same subnets at that step, resumed or not. */
export const stepRng = (seed: number, step: number): Rng => new Rng(seed * 1_000_003 + step * 7919 + 17)
