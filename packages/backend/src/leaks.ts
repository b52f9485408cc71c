import * as tf from '@tensorflow/tfjs-core'
import { NasError } from '@nasjs/core'

/**
 * What a leak would show: tensors the engine tracks, data buffers the backend holds (intermediates
 * a kernel forgot to free show up here even when no tensor refers to them) and, on wasm, the size of
 * the wasm heap.
 *
 * @since 0.1.0
 * @category testing
 */
export interface MemorySnapshot {
  readonly numTensors: number
  readonly numDataIds: number
  /** Bytes of the wasm heap (`undefined` on other backends). It grows but never shrinks. */
  readonly wasmHeapBytes: number | undefined
}

type WasmLike = { wasm?: { HEAPU8?: Uint8Array } | null }

/**
 * The current {@link MemorySnapshot} of the active backend.
 *
 * @since 0.1.0
 * @category testing
 */
export function memorySnapshot(): MemorySnapshot {
  const backend = tf.backend()
  const heap = (backend as unknown as WasmLike).wasm?.HEAPU8?.buffer.byteLength
  return { numTensors: tf.memory().numTensors, numDataIds: backend.numDataIds(), wasmHeapBytes: heap }
}

/**
 * Options of {@link expectNoLeaks}.
 *
 * @since 0.1.0
 * @category testing
 */
export interface NoLeaksOptions {
  /** Allowed growth of the wasm heap in bytes (default 0; set it when `fn` legitimately grows it). */
  readonly heapSlackBytes?: number
}

/**
 * Runs `fn` (sync or async) and throws a `NasError` (code `INTERNAL`) naming what grew when it leaves
 * more tensors, backend data buffers or wasm heap behind than it found. Returns what `fn` returned
 * (which must not be a tensor: that would be counted as a leak).
 *
 * @example
 * ```ts
 * await expectNoLeaks(() => { tf.tidy(() => model.predict(x)) })
 * ```
 * @since 0.1.0
 * @category testing
 */
export async function expectNoLeaks<T>(fn: () => T | Promise<T>, opts: NoLeaksOptions = {}): Promise<T> {
  const before = memorySnapshot()
  const result = await fn()
  const after = memorySnapshot()
  const grew: string[] = []
  if (after.numTensors > before.numTensors) grew.push(`tensors ${before.numTensors} -> ${after.numTensors}`)
  if (after.numDataIds > before.numDataIds)
    grew.push(`data buffers ${before.numDataIds} -> ${after.numDataIds}`)
  const slack = opts.heapSlackBytes ?? 0
  if (
    before.wasmHeapBytes !== undefined &&
    after.wasmHeapBytes !== undefined &&
    after.wasmHeapBytes > before.wasmHeapBytes + slack
  ) {
    grew.push(`wasm heap ${before.wasmHeapBytes} -> ${after.wasmHeapBytes} bytes`)
  }
  if (grew.length > 0) {
    throw new NasError({
      code: 'INTERNAL',
      message: `memory leak: ${grew.join(', ')}`,
      value: { before, after },
    })
  }
  return result
}
