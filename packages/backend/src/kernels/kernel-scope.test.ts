import { fc, test } from '@fast-check/vitest'
import { expect } from 'vitest'
import { copySlice } from './kernel-scope.js'

/** Any shape up to rank 5 with a block inside it. */
const blockArb = fc
  .array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 })
  .chain((shape) =>
    fc
      .tuple(fc.constant(shape), fc.tuple(...shape.map((d) => fc.integer({ min: 0, max: d - 1 }))))
      .chain(([shape, begin]) =>
        fc.tuple(
          fc.constant(shape),
          fc.constant(begin),
          fc.tuple(...shape.map((d, i) => fc.integer({ min: 1, max: d - begin[i]! }))),
        ),
      ),
  )

test.prop([blockArb])('copySlice equals element-by-element slicing', ([shape, begin, size]) => {
  const total = shape.reduce((a, b) => a * b, 1)
  const src = Float32Array.from({ length: total }, (_, i) => i)
  const dst = new Float32Array(size.reduce((a, b) => a * b, 1))
  copySlice(src, shape, dst, begin, size)
  const want: number[] = []
  const walk = (axis: number, offset: number) => {
    if (axis === shape.length) return void want.push(src[offset]!)
    const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1)
    for (let i = 0; i < size[axis]!; i++) walk(axis + 1, offset + (begin[axis]! + i) * stride)
  }
  walk(0, 0)
  expect(Array.from(dst)).toEqual(want)
})
