import * as tf from '@tensorflow/tfjs-core'
import type { NamedAttrMap } from '@tensorflow/tfjs-core'
import { Rng } from '@nasjs/core'

/** A tensor given by value so it can be created on any backend. */
export interface HostTensor {
  readonly shape: number[]
  readonly values: Float32Array | Int32Array
  readonly dtype: 'float32' | 'int32'
}

export const randomTensor = (rng: Rng, shape: number[]): HostTensor => {
  const size = shape.reduce((a, b) => a * b, 1)
  return { shape, values: Float32Array.from({ length: size }, () => rng.normal()), dtype: 'float32' }
}

/** Runs kernel `name` on `backend` and returns its output by value (every tensor is freed). */
export async function runKernelOn(
  backend: string,
  name: string,
  inputs: Record<string, HostTensor>,
  attrs: NamedAttrMap,
  output = 0,
): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend)
  const tensors = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape, v.dtype)]),
  )
  try {
    const result: tf.Tensor | tf.Tensor[] = tf.engine().runKernel(name, tensors, attrs)
    const outs = Array.isArray(result) ? result : [result]
    const out = outs[output]!
    const values = Float32Array.from(out.dataSync())
    const shape = out.shape
    tf.dispose(outs)
    return { shape, values }
  } finally {
    for (const t of Object.values(tensors)) t.dispose()
  }
}

/** Largest `|a - b|` divided by the largest `|b|` (at least 1e-6): a norm-wise relative error. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0
  let scale = 1e-6
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!))
    scale = Math.max(scale, Math.abs(b[i]!))
  }
  return a.length === b.length ? diff / scale : Number.POSITIVE_INFINITY
}

/** Inserts `d - 1` zero taps between the taps of a `[kh, kw, c, m]` filter (a dilated filter, undilated). */
export function dilateFilter(f: HostTensor, dh: number, dw: number): HostTensor {
  const [kh, kw, c, m] = f.shape as [number, number, number, number]
  const eh = (kh - 1) * dh + 1
  const ew = (kw - 1) * dw + 1
  const out = new Float32Array(eh * ew * c * m)
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let i = 0; i < c * m; i++)
        out[(a * dh * ew + b * dw) * c * m + i] = f.values[(a * kw + b) * c * m + i]!
  return { shape: [eh, ew, c, m], values: out, dtype: 'float32' }
}

/** The taps `0, d, 2d, ...` of an undilated filter gradient: the gradient of the dilated filter. */
export function undilateFilter(
  values: Float32Array,
  shape: number[],
  dh: number,
  dw: number,
  kh: number,
  kw: number,
) {
  const [, ew, c, m] = shape as [number, number, number, number]
  const out = new Float32Array(kh * kw * c * m)
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let i = 0; i < c * m; i++)
        out[(a * kw + b) * c * m + i] = values[(a * dh * ew + b * dw) * c * m + i]!
  return out
}
