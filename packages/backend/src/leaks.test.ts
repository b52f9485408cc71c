import * as tf from '@tensorflow/tfjs-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from './init-backend.js'
import { expectNoLeaks, memorySnapshot } from './leaks.js'

beforeAll(async () => {
  delete process.env['NASJS_BACKEND']
  await initBackend({ prefer: 'wasm', quiet: true })
})

describe('expectNoLeaks', () => {
  it('passes when everything is freed and returns the result', async () => {
    const v = await expectNoLeaks(() => tf.tidy(() => tf.sum(tf.ones([4, 4])).dataSync()[0]))
    expect(v).toBe(16)
  })

  it('names what grew when a tensor is left behind', async () => {
    let kept: tf.Tensor | undefined
    await expect(
      expectNoLeaks(() => {
        kept = tf.ones([2])
      }),
    ).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/tensors \d+ -> \d+/) as string,
    })
    kept?.dispose()
  })

  it('sees the wasm heap', () => {
    expect(memorySnapshot().wasmHeapBytes).toBeGreaterThan(0)
  })
})
