import type { TensorInfo } from '@tensorflow/tfjs-core'
import type { KernelScope } from './kernel-scope.js'

/** Rank limit of XNNPACK's broadcasting binary operators. */
const MAX_BROADCAST_RANK = 6

/**
 * `Tile` as one broadcasting `Add` of `x` (viewed with a unit axis in front of every tiled axis)
 * to zeros of the tiled shape, so the copy runs in XNNPACK instead of wasm's per-element index loop
 * (which made `Tile` the slowest kernel of a batch-norm backward pass). Returns `undefined` when the
 * view would exceed the broadcast rank or the dtype is not numeric, and the caller falls back.
 */
export function tileByBroadcast(
  s: KernelScope,
  x: TensorInfo,
  reps: readonly number[],
): TensorInfo | undefined {
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return undefined
  const view: number[] = []
  const target: number[] = []
  x.shape.forEach((d, i) => {
    const r = reps[i] ?? 1
    if (r > 1 && d > 1) {
      view.push(1, d)
      target.push(r, d)
    } else {
      view.push(d)
      target.push(r * d)
    }
  })
  if (target.length > MAX_BROADCAST_RANK) return undefined
  const out = x.shape.map((d, i) => d * (reps[i] ?? 1))
  const sum = s.run('Add', { a: s.reshape(x, view), b: s.zeros(target, x.dtype) })
  return s.reshape(sum, out)
}
