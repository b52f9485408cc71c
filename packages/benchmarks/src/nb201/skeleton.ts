import type { Nb201Arch } from '@nasjs/search-space'

import type { Nb201Dataset } from './metrics.js'

/**
 * The NAS-Bench-201 macro skeleton (Dong and Yang, 2020): a 3x3 conv stem (3 -> 16 channels, BN),
 * three stages of 5 cells with 16 / 32 / 64 channels separated by two residual reduction blocks,
 * then BN + ReLU, global average pooling and a linear classifier.
 * @since 0.1.0
 */
export const NB201_SKELETON = {
  stemChannels: 16,
  stageChannels: [16, 32, 64] as const,
  cellsPerStage: 5,
} as const

/**
 * Input side length and class count of each NB201 dataset.
 * @since 0.1.0
 */
export const NB201_DATASET_SHAPE: Readonly<
  Record<Nb201Dataset, { readonly inputSize: number; readonly classes: number }>
> = {
  cifar10: { inputSize: 32, classes: 10 },
  cifar100: { inputSize: 32, classes: 100 },
  'imagenet16-120': { inputSize: 16, classes: 120 },
}

/**
 * Parameters and FLOPs of one network, counted analytically.
 * @since 0.1.0
 */
export interface Nb201Cost {
  /** Trainable parameters, in millions (as NB201's `params`). */
  readonly params: number
  /** Multiply-accumulates of convolutions and the classifier, in millions (as NB201's `flop`). */
  readonly flops: number
}

/**
 * Raw counts (not in millions), kept exact as integers.
 * @since 0.1.0
 */
export interface Nb201CostCounts {
  readonly params: number
  readonly flops: number
}

/**
 * Counts the parameters and FLOPs of the NB201 network built from `arch` on `dataset`, from the
 * skeleton alone (no table):
 *
 * - a `nor_conv_kxk` edge is ReLU-Conv(k x k, C -> C, no bias)-BN: `k*k*C*C + 2C` parameters
 *   (BN's affine scale and shift) and `H*W*k*k*C*C` FLOPs; `skip_connect`, `none` and
 *   `avg_pool_3x3` have no parameters and count no FLOPs (NB201's counter skips pooling, BN and ReLU);
 * - every edge exists in every cell, connected to the output or not (NB201 builds them all);
 * - stem: 3x3 conv 3 -> 16 + BN; reduction block C -> 2C: ReLU-Conv3x3/2-BN, ReLU-Conv3x3-BN and
 *   a shortcut of 2x2 average pooling + 1x1 conv (no BN); the head: BN(64), linear 64 -> classes with bias.
 *
 * Matches the official records: index 0 on CIFAR-10 has 129,306 parameters and 15.64737 MFLOPs.
 * @since 0.1.0
 */
export function nb201CostCounts(arch: Nb201Arch, dataset: Nb201Dataset): Nb201CostCounts {
  let n1 = 0
  let n3 = 0
  for (const op of arch) {
    if (op === 'nor_conv_1x1') n1++
    else if (op === 'nor_conv_3x3') n3++
  }
  return nb201CostFromConvCounts(n1, n3, dataset)
}

/**
 * {@link nb201CostCounts} from the number of 1x1 and 3x3 conv edges in the cell.
 * @since 0.1.0
 */
export function nb201CostFromConvCounts(n1: number, n3: number, dataset: Nb201Dataset): Nb201CostCounts {
  const { inputSize, classes } = NB201_DATASET_SHAPE[dataset]
  const { stemChannels, stageChannels, cellsPerStage } = NB201_SKELETON
  let params = 0
  let flops = 0
  const conv = (k: number, cin: number, cout: number, outSide: number, bn: boolean) => {
    params += k * k * cin * cout + (bn ? 2 * cout : 0)
    flops += outSide * outSide * k * k * cin * cout
  }
  let side = inputSize
  conv(3, 3, stemChannels, side, true)
  let prev: number = stemChannels
  stageChannels.forEach((c, s) => {
    if (s > 0) {
      side = side / 2
      conv(3, prev, c, side, true) // conv_a, stride 2
      conv(3, c, c, side, true) // conv_b
      conv(1, prev, c, side, false) // shortcut: avgpool 2x2 (no FLOPs counted) + 1x1 conv
    }
    for (let i = 0; i < cellsPerStage; i++) {
      for (let e = 0; e < n1; e++) conv(1, c, c, side, true)
      for (let e = 0; e < n3; e++) conv(3, c, c, side, true)
    }
    prev = c
  })
  params += 2 * prev // last BN
  params += prev * classes + classes // classifier
  flops += prev * classes + classes
  return { params, flops }
}

/**
 * Parameters (M) and FLOPs (M) of an NB201 network, see {@link nb201CostCounts}.
 * @example nb201Cost(parseNb201('|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|'), 'cifar10') // { params: 0.129306, flops: 15.64737 }
 * @since 0.1.0
 */
export function nb201Cost(arch: Nb201Arch, dataset: Nb201Dataset): Nb201Cost {
  const c = nb201CostCounts(arch, dataset)
  return { params: c.params / 1e6, flops: c.flops / 1e6 }
}
