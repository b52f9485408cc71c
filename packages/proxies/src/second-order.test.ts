import { initBackend } from '@nasjs/backend'
import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { registerSecondOrderGradients } from './second-order.js'

beforeAll(async () => {
  await initBackend({ quiet: true })
  registerSecondOrderGradients()
})

describe('second-order gradients', () => {
  it('give the Hessian-vector product of a conv-BN-ReLU-pool network, equal to a central finite difference', () => {
    const x = tf.randomNormal([3, 8, 8, 2], 0, 1, 'float32', 1)
    const v = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 3)
    const w0 = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 2)
    const f = (w: tf.Tensor) => {
      let y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [2, 2], 'same')
      const m = tf.moments(y, [0, 1, 2])
      y = tf.relu(tf.div(tf.sub(y, m.mean), tf.sqrt(tf.add(m.variance, 1e-5))))
      y = tf.avgPool(y, 3, 1, 'same')
      return tf.sum(tf.mul(tf.logSoftmax(tf.mean(y, [1, 2])), tf.tensor1d([1, -2, 0.5, 3])))
    }
    const hv = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.grad(f)(w), v)))(w0)
    const eps = 1e-2
    const fd = tf.div(
      tf.sub(tf.grad(f)(tf.add(w0, tf.mul(v, eps))), tf.grad(f)(tf.sub(w0, tf.mul(v, eps)))),
      2 * eps,
    )
    const err = tf.max(tf.abs(tf.sub(hv, fd))).dataSync()[0]!
    const scale = tf.max(tf.abs(fd)).dataSync()[0]!
    expect(scale).toBeGreaterThan(1e-3)
    expect(err / scale).toBeLessThan(2e-2)
  })
})
