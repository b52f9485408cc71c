import '@tensorflow/tfjs-backend-cpu'
import * as tf from '@tensorflow/tfjs-core'
// tf.grad below needs the gradient functions, which the core's main entry does not register
import '@tensorflow/tfjs-core/dist/register_all_gradients.js'
import { fc, test } from '@fast-check/vitest'
import { beforeAll, describe, expect } from 'vitest'
import { Rng } from '@nasjs/core'
import { initBackend } from '../init-backend.js'
import {
  dilateFilter,
  randomTensor,
  relativeError,
  runKernelOn,
  undilateFilter,
  type HostTensor,
} from '../testing-internal/kernel-test-utils.js'

const TOL = 1e-4

beforeAll(async () => {
  delete process.env['NASJS_BACKEND']
  await initBackend({ prefer: 'wasm', quiet: true })
})

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [number, number]] | number[][]

const padArb = fc.oneof(
  fc.constant<Pad>('same'),
  fc.constant<Pad>('valid'),
  fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)).map(([t, b, l, r]): Pad => [
    [0, 0],
    [t, b],
    [l, r],
    [0, 0],
  ]),
)

/** A forward convolution that has at least one output row and column. */
const convArb = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    c: fc.integer({ min: 1, max: 4 }),
    out: fc.integer({ min: 1, max: 4 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 2 }),
    sw: fc.integer({ min: 1, max: 2 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
    pad: padArb,
    seed: fc.nat(),
  })
  .filter((g) => {
    const eh = (g.kh - 1) * g.dh + 1
    const ew = (g.kw - 1) * g.dw + 1
    if (g.pad === 'same') return true
    const [t, b, l, r] =
      g.pad === 'valid' ? [0, 0, 0, 0] : [g.pad[1][0], g.pad[1][1], g.pad[2][0], g.pad[2][1]]
    return g.h + t + b >= eh && g.w + l + r >= ew
  })

type Conv = typeof convArb extends fc.Arbitrary<infer T> ? T : never

const outShape = (g: Conv, depthwise: boolean): number[] => {
  const info = tf.backend_util.computeConv2DInfo(
    [g.n, g.h, g.w, g.c],
    [g.kh, g.kw, g.c, g.out],
    [g.sh, g.sw],
    [g.dh, g.dw],
    g.pad as 'same',
    undefined,
    depthwise,
  )
  return info.outShape
}

async function expectParity(
  name: string,
  inputs: Record<string, HostTensor>,
  attrs: tf.NamedAttrMap,
  reference?: {
    inputs: Record<string, HostTensor>
    attrs: tf.NamedAttrMap
    map?: (v: Float32Array, s: number[]) => Float32Array
  },
) {
  const got = await runKernelOn('wasm', name, inputs, attrs)
  const ref = reference ?? { inputs, attrs }
  const want = await runKernelOn('cpu', name, ref.inputs, ref.attrs)
  const wantValues = ref.map ? ref.map(want.values, want.shape) : want.values
  expect(relativeError(got.values, wantValues)).toBeLessThan(TOL)
}

describe('Conv2D gradient kernels on wasm agree with cpu', () => {
  test.prop([convArb.map((g) => ({ ...g, dh: 1, dw: 1 })), fc.boolean()], { numRuns: 60 })(
    'Conv2DBackpropFilter',
    async (g, nchw) => {
      const rng = new Rng(g.seed)
      const x = randomTensor(rng, [g.n, g.h, g.w, g.c])
      const dyShape = outShape(g, false)
      const dy = randomTensor(rng, dyShape)
      const toNchw = (t: HostTensor): HostTensor => {
        const v = tf.tidy(() => tf.transpose(tf.tensor(t.values, t.shape), [0, 3, 1, 2]))
        const out = { shape: v.shape, values: v.dataSync() as Float32Array, dtype: 'float32' as const }
        v.dispose()
        return out
      }
      await tf.setBackend('cpu')
      const inputs = nchw ? { x: toNchw(x), dy: toNchw(dy) } : { x, dy }
      await expectParity('Conv2DBackpropFilter', inputs, {
        strides: [g.sh, g.sw],
        // Explicit pads follow the data format.
        pad: nchw && Array.isArray(g.pad) ? [[0, 0], [0, 0], g.pad[1], g.pad[2]] : g.pad,
        dataFormat: nchw ? 'NCHW' : 'NHWC',
        filterShape: [g.kh, g.kw, g.c, g.out],
      })
    },
  )

  test.prop([convArb.map((g) => ({ ...g, dh: 1, dw: 1 }))], { numRuns: 60 })(
    'Conv2DBackpropInput',
    async (g) => {
      const rng = new Rng(g.seed)
      const filter = randomTensor(rng, [g.kh, g.kw, g.c, g.out])
      const dy = randomTensor(rng, outShape(g, false))
      await expectParity(
        'Conv2DBackpropInput',
        { dy, filter },
        { strides: [g.sh, g.sw], pad: g.pad, dataFormat: 'NHWC', inputShape: [g.n, g.h, g.w, g.c] },
      )
    },
  )
})

describe('depthwise gradient kernels on wasm agree with cpu', () => {
  // cpu's depthwise backprop kernels ignore dilations (TF.js only differentiates undilated depthwise
  // convolutions), so a dilated case is checked against cpu on the equivalent undilated filter.
  test.prop([convArb], { numRuns: 80 })('DepthwiseConv2dNativeBackpropFilter', async (g) => {
    const rng = new Rng(g.seed)
    const x = randomTensor(rng, [g.n, g.h, g.w, g.c])
    const mult = g.out
    const dy = randomTensor(rng, outShape({ ...g, out: mult }, true))
    const attrs = {
      strides: [g.sh, g.sw],
      dilations: [g.dh, g.dw],
      pad: g.pad,
      filterShape: [g.kh, g.kw, g.c, mult],
    }
    const eh = (g.kh - 1) * g.dh + 1
    const ew = (g.kw - 1) * g.dw + 1
    await expectParity('DepthwiseConv2dNativeBackpropFilter', { x, dy }, attrs, {
      inputs: { x, dy },
      attrs: { ...attrs, dilations: [1, 1], filterShape: [eh, ew, g.c, mult] },
      map: (v, s) => undilateFilter(v, s, g.dh, g.dw, g.kh, g.kw),
    })
  })

  test.prop([convArb], { numRuns: 80 })('DepthwiseConv2dNativeBackpropInput', async (g) => {
    const rng = new Rng(g.seed)
    const mult = g.out
    const filter = randomTensor(rng, [g.kh, g.kw, g.c, mult])
    const dy = randomTensor(rng, outShape({ ...g, out: mult }, true))
    const attrs = {
      strides: [g.sh, g.sw],
      dilations: [g.dh, g.dw],
      pad: g.pad,
      inputShape: [g.n, g.h, g.w, g.c],
    }
    await expectParity('DepthwiseConv2dNativeBackpropInput', { dy, filter }, attrs, {
      inputs: { dy, filter: dilateFilter(filter, g.dh, g.dw) },
      attrs: { ...attrs, dilations: [1, 1] },
    })
  })
})

describe('UnsortedSegmentSum on wasm agrees with cpu', () => {
  test.prop(
    [
      fc.integer({ min: 1, max: 12 }),
      fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 2 }),
      fc.integer({ min: 1, max: 6 }),
      fc.boolean(),
      fc.nat(),
    ],
    { numRuns: 60 },
  )('random ids, repeated and out of range', async (rows, inner, numSegments, outOfRange, seed) => {
    const rng = new Rng(seed)
    const x = randomTensor(rng, [rows, ...inner])
    const ids = Int32Array.from({ length: rows }, () =>
      outOfRange && rng.bernoulli(0.3) ? rng.intBetween(-3, numSegments + 3) : rng.int(numSegments),
    )
    await expectParity(
      'UnsortedSegmentSum',
      { x, segmentIds: { shape: [rows], values: ids, dtype: 'int32' } },
      { numSegments },
    )
  })
})

/** A 2-D pool: input up to `size` square, window up to `window`, stride up to 3, a window that fits. */
const poolArb = (size: number, window: number) =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 2 }),
      h: fc.integer({ min: 1, max: size }),
      w: fc.integer({ min: 1, max: size }),
      c: fc.integer({ min: 1, max: 3 }),
      f: fc.integer({ min: 1, max: window }),
      s: fc.integer({ min: 1, max: 3 }),
      pad: fc.constantFrom<'same' | 'valid'>('same', 'valid'),
      seed: fc.nat(),
    })
    .filter((g) => g.pad === 'same' || (g.h >= g.f && g.w >= g.f))

describe('MaxPoolGrad on wasm agrees with cpu', () => {
  test.prop([poolArb(8, 3), fc.boolean()], { numRuns: 60 })(
    'random windows, negative values and ties',
    async (g, ties) => {
      const rng = new Rng(g.seed)
      const x = randomTensor(rng, [g.n, g.h, g.w, g.c])
      // Rounded values repeat, so the first-maximum rule is exercised too.
      if (ties) x.values.forEach((v, i) => ((x.values as Float32Array)[i] = Math.round(v)))
      const attrs = { filterSize: g.f, strides: g.s, pad: g.pad }
      const y = await runKernelOn('cpu', 'MaxPool', { x }, attrs)
      const dy = randomTensor(rng, y.shape)
      const output: HostTensor = { shape: y.shape, values: y.values, dtype: 'float32' }
      await expectParity('MaxPoolGrad', { dy, input: x, output }, attrs)
    },
  )
})

describe('AvgPoolGrad on wasm', () => {
  // the shipped kernels (wasm and cpu) divide by the full window size, which is not the adjoint of
  // the forward pool wherever a window reaches into padding; ours is checked against the
  // definition: <avgPool(x), dy> = <x, grad(dy)>
  test.prop([poolArb(9, 4)], { numRuns: 60 })(
    'is the adjoint of the pool, same and valid padding, any stride',
    async (g) => {
      const rng = new Rng(g.seed)
      const x = randomTensor(rng, [g.n, g.h, g.w, g.c])
      const attrs = { filterSize: g.f, strides: g.s, pad: g.pad }
      const y = await runKernelOn('wasm', 'AvgPool', { x }, attrs)
      const dy = randomTensor(rng, y.shape)
      const grad = await runKernelOn('wasm', 'AvgPoolGrad', { dy, input: x }, attrs)
      expect(grad.shape).toEqual(x.shape)
      let lhs = 0
      let rhs = 0
      for (let i = 0; i < y.values.length; i++) lhs += y.values[i]! * dy.values[i]!
      for (let i = 0; i < x.values.length; i++) rhs += x.values[i]! * grad.values[i]!
      expect(Math.abs(lhs - rhs)).toBeLessThan(TOL * Math.max(1, Math.abs(lhs)))
    },
  )

  test('same and valid pools with equal pads but different outputs (a 2x2 window, stride 2, 5x5)', async () => {
    // both have no top/left padding; the window-count tables must still be told apart
    for (const pad of ['same', 'valid', 'same'] as const) {
      const rng = new Rng(7)
      const x = randomTensor(rng, [1, 5, 5, 2])
      const attrs = { filterSize: 2, strides: 2, pad }
      const y = await runKernelOn('wasm', 'AvgPool', { x }, attrs)
      const dy = randomTensor(rng, y.shape)
      const grad = await runKernelOn('wasm', 'AvgPoolGrad', { dy, input: x }, attrs)
      let lhs = 0
      let rhs = 0
      for (let i = 0; i < y.values.length; i++) lhs += y.values[i]! * dy.values[i]!
      for (let i = 0; i < x.values.length; i++) rhs += x.values[i]! * grad.values[i]!
      expect(Math.abs(lhs - rhs), pad).toBeLessThan(TOL * Math.max(1, Math.abs(lhs)))
    }
  })

  test('tf.grad of a same-padded 3x3 average pool equals a finite difference', () => {
    const x = tf.randomNormal([1, 5, 5, 2], 0, 1, 'float32', 3)
    const r = tf.randomNormal([1, 5, 5, 2], 0, 1, 'float32', 4)
    const f = (v: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(v as tf.Tensor4D, 3, 1, 'same'), r))
    const g = tf.grad(f)(x).dataSync()
    const xs = x.dataSync()
    for (const i of [0, 7, 24, 49]) {
      const at = (d: number) => {
        const v = Float32Array.from(xs)
        v[i]! += d
        return tf.tidy(() => f(tf.tensor(v, [1, 5, 5, 2])).dataSync()[0]!)
      }
      // the pool is linear, so the central difference is exact up to rounding
      expect(Math.abs(g[i]! - (at(0.5) - at(-0.5)))).toBeLessThan(1e-4)
    }
    tf.dispose([x, r])
  })
})

describe('ResizeNearestNeighborGrad on wasm', () => {
  // cpu's version is not the adjoint of its forward resize (it even gives NaN when shrinking), so
  // ours is checked against the definition: <resize(x), dy> = <x, grad(dy)>.
  test.prop(
    [
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 12 }),
      fc.boolean(),
      fc.boolean(),
      fc.nat(),
    ],
    { numRuns: 30 },
  )('is the adjoint of the resize', async (h, w, h2, w2, alignCorners, halfPixelCenters, seed) => {
    // tf.image.resizeNearestNeighbor refuses alignCorners together with halfPixelCenters.
    fc.pre(!(alignCorners && halfPixelCenters))
    const rng = new Rng(seed)
    const images = randomTensor(rng, [2, h, w, 3])
    const dy = randomTensor(rng, [2, h2, w2, 3])
    const attrs = { alignCorners, halfPixelCenters }
    const fwd = await runKernelOn('wasm', 'ResizeNearestNeighbor', { images }, { ...attrs, size: [h2, w2] })
    const grad = await runKernelOn('wasm', 'ResizeNearestNeighborGrad', { images, dy }, attrs)
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let acc = 0
      for (let i = 0; i < a.length; i++) acc += a[i]! * b[i]!
      return acc
    }
    const lhs = dot(fwd.values, dy.values)
    expect(Math.abs(lhs - dot(images.values, grad.values))).toBeLessThan(TOL * Math.max(1, Math.abs(lhs)))
  })
})

describe('Tile on wasm agrees with cpu', () => {
  test.prop(
    [
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }),
      fc.constantFrom<'float32' | 'int32' | 'bool'>('float32', 'int32', 'bool'),
      fc.nat(),
    ],
    { numRuns: 60 },
  )(
    'any rank, reps and dtype (bool and rank > 6 views use the shipped kernel)',
    async (shape, reps, dtype, seed) => {
      const rng = new Rng(seed)
      const size = shape.reduce((a, b) => a * b, 1)
      const values =
        dtype === 'float32'
          ? Float32Array.from({ length: size }, () => rng.normal())
          : Int32Array.from({ length: size }, () => (dtype === 'bool' ? rng.int(2) : rng.intBetween(-9, 9)))
      const x = { shape, values, dtype: dtype === 'bool' ? 'int32' : dtype } as HostTensor
      const attrs = { reps: reps.slice(0, shape.length) }
      if (dtype === 'bool') {
        const on = async (b: string) => {
          await tf.setBackend(b)
          const t = tf.tensor(values, shape, 'bool')
          const out: tf.Tensor = tf.engine().runKernel('Tile', { x: t }, attrs)
          const v = Array.from(out.dataSync())
          tf.dispose([t, out])
          return v
        }
        expect(await on('wasm')).toEqual(await on('cpu'))
        return
      }
      await expectParity('Tile', { x }, attrs)
    },
  )
})

describe('Sum on wasm agrees with cpu', () => {
  test.prop(
    [
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
      fc.nat(),
      fc.nat(),
      fc.boolean(),
      fc.boolean(),
      fc.nat(),
    ],
    { numRuns: 80 },
  )(
    'any contiguous or scattered axes, negative axes, keepDims (bias gradients take the heap path)',
    async (shape, from, count, keepDims, negative, seed) => {
      const rank = shape.length
      const first = from % rank
      const last = first + (count % (rank - first))
      let axes = Array.from({ length: last - first + 1 }, (_, i) => first + i)
      if (count % 3 === 2 && rank > 2) axes = [0, rank - 1]
      if (negative) axes = axes.map((a) => a - rank)
      await expectParity('Sum', { x: randomTensor(new Rng(seed), shape) }, { axis: axes, keepDims })
    },
  )

  test.prop([fc.integer({ min: 1, max: 70 }), fc.integer({ min: 8, max: 40 }), fc.nat()], { numRuns: 20 })(
    'a bias gradient: [N, H, W, C] over N, H, W',
    async (rows, channels, seed) => {
      const x = randomTensor(new Rng(seed), [2, rows, 3, channels])
      await expectParity('Sum', { x }, { axis: [0, 1, 2], keepDims: false })
    },
  )
})

describe('BatchMatMul on wasm agrees with cpu', () => {
  test.prop(
    [
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 9 }),
      fc.boolean(),
      fc.boolean(),
      fc.nat(),
    ],
    { numRuns: 60 },
  )('any transposeA / transposeB', async (batch, m, k, n, transposeA, transposeB, seed) => {
    const rng = new Rng(seed)
    const a = randomTensor(rng, transposeA ? [batch, k, m] : [batch, m, k])
    const b = randomTensor(rng, transposeB ? [batch, n, k] : [batch, k, n])
    await expectParity('BatchMatMul', { a, b }, { transposeA, transposeB })
  })
})
