import { expectNoLeaks, initBackend } from '@nasjs/backend'
import { Rng } from '@nasjs/core'
import * as tf from '@tensorflow/tfjs-core'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  fakeQuant,
  fakeQuantFloat,
  fakeQuantInt,
  quantParams,
  quantizeToInt,
  tensorRange,
} from './fake-quant.js'
import { FLOAT_LAYOUTS, intRange, numberFormat } from './formats.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
})

const randoms = (n: number, seed: number, scale = 1) => {
  const rng = new Rng(seed)
  return Float32Array.from({ length: n }, () => scale * rng.normal())
}

describe('integer fake quantization', () => {
  it('maps the range onto the integer grid with 0 exact, symmetric and asymmetric', () => {
    expect(intRange(8, true)).toEqual({ qmin: -127, qmax: 127 })
    expect(intRange(4, false)).toEqual({ qmin: 0, qmax: 15 })
    const sym = quantParams(-2, 1, { bits: 8, symmetric: true })
    expect(sym.scale[0]).toBeCloseTo(2 / 127, 12)
    expect(sym.zeroPoint).toEqual([0])
    const asym = quantParams(0.5, 3, { bits: 8, symmetric: false })
    // widened to hold 0: [0, 3]
    expect(asym.scale[0]).toBeCloseTo(3 / 255, 12)
    expect(asym.zeroPoint).toEqual([0])
    const x = tf.tensor1d([0, -1, 0.3, 2.9])
    const y = fakeQuantInt(x, quantParams(-1, 3, { bits: 8, symmetric: false }))
    expect(y.dataSync()[0]).toBe(0)
    tf.dispose([x, y])
    expect(() => quantParams(2, 1, { bits: 8, symmetric: true })).toThrow(/min <= max/)
    expect(() => intRange(1, true)).toThrow(/2 to 16 bits/)
    expect(() => numberFormat('int32')).toThrow(/unknown number format/)
  })

  it('is idempotent, has at most 2^bits values, and errs by at most half a step inside the range (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 16 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 1000 }),
        (bits, symmetric, seed) => {
          const v = randoms(64, seed, 3)
          const x = tf.tensor1d(v)
          const r = tensorRange(x)
          const p = quantParams(r.min, r.max, { bits, symmetric })
          const y = fakeQuantInt(x, p)
          const yy = fakeQuantInt(y, p)
          const ys = y.dataSync()
          expect(Array.from(yy.dataSync())).toEqual(Array.from(ys))
          expect(new Set(ys).size).toBeLessThanOrEqual(2 ** bits)
          const s = p.scale[0]!
          v.forEach((val, i) =>
            expect(Math.abs(ys[i]! - val)).toBeLessThanOrEqual(s / 2 + 1e-6 * Math.abs(val) + 1e-7),
          )
          tf.dispose([x, y, yy])
        },
      ),
      { numRuns: 40 },
    )
  })

  it('per channel: one scale per output channel of a conv kernel', () => {
    const k = tf.tensor4d(randoms(3 * 3 * 2 * 4, 3), [3, 3, 2, 4])
    const scaled = tf.mul(k, tf.tensor1d([1, 10, 0.1, 100]))
    const f = { kind: 'int' as const, bits: 8, symmetric: true, perChannel: true }
    const y = fakeQuant(scaled, f)
    const r = tensorRange(scaled, -1)
    const p = quantParams(r.min, r.max, f, -1)
    expect(p.scale).toHaveLength(4)
    // each channel's error is within half its own step
    const ys = y.arraySync() as number[][][][]
    const xs = scaled.arraySync() as number[][][][]
    ys.flat(2).forEach((row, i) =>
      row.forEach((v, c) =>
        expect(Math.abs(v - xs.flat(2)[i]![c]!)).toBeLessThanOrEqual(p.scale[c]! / 2 + 1e-5),
      ),
    )
    const bad = () => fakeQuantInt(scaled, { ...p, scale: [1, 2], zeroPoint: [0, 0] })
    expect(bad).toThrow(/needs 4 scales/)
    tf.dispose([k, scaled, y])
  })

  it('an int8 dense and conv layer equal the integer computation: the same int32 accumulators', () => {
    const x = randoms(4 * 16, 5, 2).map((v) => Math.abs(v)) // activations after a ReLU
    const w = randoms(16 * 8, 6, 0.5)
    const xt = tf.tensor2d(x, [4, 16])
    const wt = tf.tensor2d(w, [16, 8])
    const px = quantParams(0, Math.max(...x), { bits: 8, symmetric: false })
    const rw = tensorRange(wt, 1)
    const pw = quantParams(rw.min, rw.max, { bits: 8, symmetric: true }, 1)
    const y = tf.tidy(() => tf.matMul(fakeQuantInt(xt, px), fakeQuantInt(wt, pw)))
    const qx = quantizeToInt(x, px)
    const qw = quantizeToInt(w, pw, (i) => i % 8)
    const ys = y.arraySync() as number[][]
    for (let n = 0; n < 4; n++) {
      for (let c = 0; c < 8; c++) {
        let acc = 0
        for (let k = 0; k < 16; k++) acc += (qx[n * 16 + k]! - px.zeroPoint[0]!) * qw[k * 8 + c]!
        const unit = px.scale[0]! * pw.scale[c]!
        expect(Math.round(ys[n]![c]! / unit)).toBe(acc)
        expect(Math.abs(ys[n]![c]! - acc * unit)).toBeLessThan(1e-5 * Math.max(1, Math.abs(acc * unit)))
      }
    }
    // a 3x3 convolution, valid padding, per-channel weights
    const img = randoms(5 * 5 * 3, 7).map(Math.abs)
    const ker = randoms(3 * 3 * 3 * 2, 8, 0.3)
    const it4 = tf.tensor4d(img, [1, 5, 5, 3])
    const kt = tf.tensor4d(ker, [3, 3, 3, 2])
    const pi = quantParams(0, Math.max(...img), { bits: 8, symmetric: false })
    const rk = tensorRange(kt, -1)
    const pk = quantParams(rk.min, rk.max, { bits: 8, symmetric: true }, -1)
    const conv = tf.tidy(() => tf.conv2d(fakeQuantInt(it4, pi), fakeQuantInt(kt, pk), 1, 'valid'))
    const qi = quantizeToInt(img, pi)
    const qk = quantizeToInt(ker, pk, (i) => i % 2)
    const cs = conv.arraySync()
    for (let oy = 0; oy < 3; oy++)
      for (let ox = 0; ox < 3; ox++)
        for (let c = 0; c < 2; c++) {
          let acc = 0
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++)
              for (let ci = 0; ci < 3; ci++)
                acc +=
                  (qi[((oy + ky) * 5 + ox + kx) * 3 + ci]! - pi.zeroPoint[0]!) *
                  qk[((ky * 3 + kx) * 3 + ci) * 2 + c]!
          expect(Math.round(cs[0]![oy]![ox]![c]! / (pi.scale[0]! * pk.scale[c]!))).toBe(acc)
        }
    tf.dispose([xt, wt, y, it4, kt, conv])
  })

  it('the straight-through gradient is the finite difference over one step: 1 inside the range, 0 where clamped', () => {
    const p = quantParams(-1, 1, { bits: 4, symmetric: true })
    const s = p.scale[0]!
    const rng = new Rng(9)
    const xs = Array.from({ length: 200 }, () => 3 * (rng.uniform() - 0.5))
    const x = tf.tensor1d(xs)
    const g = tf
      .grad((t: tf.Tensor) => tf.sum(fakeQuantInt(t, p)))(x)
      .dataSync()
    const fq = (v: number) => {
      const t = tf.tensor1d([v])
      const y = fakeQuantInt(t, p)
      const out = y.dataSync()[0]!
      tf.dispose([t, y])
      return out
    }
    const top = p.qmax * s
    let inside = 0
    xs.forEach((v, i) => {
      // away from the clamping edges, the quantizer rises by exactly one step over any window of one step
      if (Math.abs(Math.abs(v) - top) < s) return
      const fd = (fq(v + s / 2) - fq(v - s / 2)) / s
      expect(fd).toBeCloseTo(g[i]!, 5)
      expect(g[i]).toBe(Math.abs(v) < top ? 1 : 0)
      if (Math.abs(v) < top) inside++
    })
    expect(inside).toBeGreaterThan(50)
    x.dispose()
  })

  it('leaks no tensor, forward or backward', async () => {
    const x = tf.tensor2d(randoms(32, 10), [4, 8])
    const p = quantParams(-1, 1, { bits: 8, symmetric: true })
    await expectNoLeaks(() => {
      tf.dispose([
        fakeQuantInt(x, p),
        fakeQuantFloat(x, 'fp8_e4m3'),
        fakeQuant(x, numberFormat('int4', { perChannel: true })),
      ])
      tf.dispose(tf.grad((t: tf.Tensor) => tf.sum(fakeQuantFloat(t, 'fp16')))(x))
      tf.dispose(tf.grad((t: tf.Tensor) => tf.sum(fakeQuantInt(t, p)))(x))
    })
    x.dispose()
  })
})

/** Every finite non-negative value of a float format, decoded from its bit fields, with its code. */
function floatValues(format: keyof typeof FLOAT_LAYOUTS): { value: number; code: number }[] {
  const l = FLOAT_LAYOUTS[format]
  const out: { value: number; code: number }[] = []
  for (let e = 0; e < 2 ** l.exponentBits; e++) {
    for (let m = 0; m < 2 ** l.mantissaBits; m++) {
      const frac = m / 2 ** l.mantissaBits
      const value = e === 0 ? frac * 2 ** (1 - l.bias) : (1 + frac) * 2 ** (e - l.bias)
      if (value > l.max) continue // infinities and NaN codes
      out.push({ value, code: (e << l.mantissaBits) | m })
    }
  }
  return out
}

/** The nearest value of the format, a tie to the even code, saturated at the largest. */
function nearest(values: { value: number; code: number }[], v: number, max: number): number {
  const a = Math.min(Math.abs(v), max)
  let lo = 0
  let hi = values.length - 1
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (values[mid]!.value <= a) lo = mid
    else hi = mid
  }
  const [p, q] = [values[lo]!, values[hi]!]
  const dp = a - p.value
  const dq = q.value - a
  const pick = dp < dq ? p : dq < dp ? q : p.code % 2 === 0 ? p : q
  return Math.sign(v) * pick.value
}

describe('float format simulation', () => {
  it.each(['fp8_e4m3', 'fp8_e5m2', 'fp16'] as const)(
    '%s: every value of the format is kept, any other rounds to the nearest (ties to even), beyond the largest saturates',
    (format) => {
      const values = floatValues(format)
      expect(values.at(-1)!.value).toBe(FLOAT_LAYOUTS[format].max)
      // E4M3: 0..448 are 128 codes less the NaN one
      expect(values).toHaveLength({ fp8_e4m3: 127, fp8_e5m2: 124, fp16: 31744 }[format])
      const exact = tf.tensor1d(values.flatMap((v) => [v.value, -v.value]))
      const kept = fakeQuantFloat(exact, format)
      // (+0 and -0 compare as equal here)
      expect(Array.from(kept.dataSync(), (v) => v + 0)).toEqual(Array.from(exact.dataSync(), (v) => v + 0))
      // random values over the whole range, midpoints (ties) and values beyond the largest
      const rng = new Rng(11)
      const max = FLOAT_LAYOUTS[format].max
      const probes: number[] = []
      for (let i = 0; i < 2000; i++)
        probes.push((rng.uniform() < 0.5 ? -1 : 1) * 2 ** (rng.uniform() * Math.log2(max * 2) - 20))
      for (let i = 0; i + 1 < values.length; i += Math.max(1, Math.floor(values.length / 300)))
        probes.push(Math.fround((values[i]!.value + values[i + 1]!.value) / 2))
      probes.push(max * 1.5, -max * 4)
      const t = tf.tensor1d(probes)
      const y = fakeQuantFloat(t, format).dataSync()
      const ps = t.dataSync()
      ps.forEach((v, i) => expect(y[i]! + 0).toBe(nearest(values, v, max) + 0))
      tf.dispose([exact, kept, t])
    },
  )

  it('the straight-through gradient passes inside the range and stops where the value saturated', () => {
    const x = tf.tensor1d([0.1, -3, 447, 449, -1e5, 60000])
    const g = tf
      .grad((t: tf.Tensor) => tf.sum(fakeQuantFloat(t, 'fp8_e4m3')))(x)
      .dataSync()
    expect(Array.from(g)).toEqual([1, 1, 1, 0, 0, 0])
    const g5 = tf
      .grad((t: tf.Tensor) => tf.sum(fakeQuantFloat(t, 'fp8_e5m2')))(x)
      .dataSync()
    expect(Array.from(g5)).toEqual([1, 1, 1, 1, 0, 0])
    x.dispose()
  })
})
