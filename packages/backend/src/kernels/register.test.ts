import '@tensorflow/tfjs-backend-cpu'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Rng } from '@nasjs/core'
import { initBackend } from '../init-backend.js'
import { randomTensor, relativeError, runKernelOn } from '../testing-internal/kernel-test-utils.js'
import {
  hasWasmTrainingKernels,
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
} from './register.js'
import { TRAINING_KERNEL_NAMES } from './training-kernels.js'

beforeAll(async () => {
  delete process.env['NASJS_BACKEND']
  await initBackend({ prefer: 'wasm', quiet: true })
})
afterAll(() => {
  registerWasmTrainingKernels()
})

describe('registerWasmTrainingKernels', () => {
  it('is idempotent', () => {
    expect(hasWasmTrainingKernels()).toBe(true)
    expect(registerWasmTrainingKernels()).toEqual(
      TRAINING_KERNEL_NAMES.map((name) => ({ name, action: 'present' })),
    )
  })

  it('unregisters, restoring the shipped kernels in working order, and registers again', async () => {
    unregisterWasmTrainingKernels()
    expect(hasWasmTrainingKernels()).toBe(false)
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined()
    const rng = new Rng(3)
    const inputs = { dy: randomTensor(rng, [1, 3, 3, 2]), filter: randomTensor(rng, [3, 3, 2, 2]) }
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [1, 3, 3, 2] }
    const shipped = await runKernelOn('wasm', 'Conv2DBackpropInput', inputs, attrs)
    const cpu = await runKernelOn('cpu', 'Conv2DBackpropInput', inputs, attrs)
    expect(relativeError(shipped.values, cpu.values)).toBeLessThan(1e-4)
    const again = registerWasmTrainingKernels()
    expect(again.filter((k) => k.action === 'replaced').map((k) => k.name)).toEqual([
      'Conv2DBackpropInput',
      'MaxPoolGrad',
      'AvgPoolGrad',
      'ResizeNearestNeighborGrad',
      'Tile',
      'Sum',
      'BatchMatMul',
    ])
    expect(hasWasmTrainingKernels()).toBe(true)
  })
})
