import { findBackend, getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core'
import type { KernelConfig } from '@tensorflow/tfjs-core'
import { trainingKernelConfigs, type TrainingKernelName } from './training-kernels.js'

const MARK = Symbol.for('@nasjs/backend:training-kernel')
const SHIPPED = Symbol.for('@nasjs/backend:shipped-kernels')

type Marked = KernelConfig & { [MARK]?: true }
type Registry = { [SHIPPED]?: Map<string, KernelConfig> }

const shipped = (): Map<string, KernelConfig> => {
  // Kept on globalThis (like TF.js's own kernel registry) so two copies of this package agree.
  const g = globalThis as Registry
  return (g[SHIPPED] ??= new Map())
}

/**
 * What {@link registerWasmTrainingKernels} did, kernel by kernel.
 *
 * @since 0.1.0
 * @category kernels
 */
export interface RegisteredKernel {
  readonly name: TrainingKernelName
  /** `added`: the backend had none; `replaced`: ours replaces the shipped one; `present`: already ours. */
  readonly action: 'added' | 'replaced' | 'present'
}

/**
 * Registers the training kernels of {@link trainingKernelConfigs} for backend `backendName`
 * (default `wasm`): adds the missing `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter`,
 * `DepthwiseConv2dNativeBackpropInput` and `UnsortedSegmentSum`, and replaces the shipped
 * scalar-loop `Conv2DBackpropInput` by the XNNPACK-backed one. Idempotent; undo with
 * {@link unregisterWasmTrainingKernels}. Call it before or after the backend initialises: the
 * kernels need no setup.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core'
 * import { registerWasmTrainingKernels } from '@nasjs/backend'
 * registerWasmTrainingKernels()
 * await tf.setBackend('wasm') // tf.grad of conv2d / depthwiseConv2d / gather now works on wasm
 * ```
 * @since 0.1.0
 * @category kernels
 */
export function registerWasmTrainingKernels(backendName = 'wasm'): RegisteredKernel[] {
  const done: RegisteredKernel[] = []
  const shippedOf = (name: string) => shipped().get(`${backendName}/${name}`)
  for (const config of trainingKernelConfigs(backendName, shippedOf)) {
    const name = config.kernelName as TrainingKernelName
    const existing = getKernel(name, backendName) as Marked | undefined
    if (existing?.[MARK]) {
      done.push({ name, action: 'present' })
      continue
    }
    if (existing !== undefined) {
      shipped().set(`${backendName}/${name}`, existing)
      unregisterKernel(name, backendName)
    }
    registerKernel({ ...config, [MARK]: true } as Marked)
    done.push({ name, action: existing === undefined ? 'added' : 'replaced' })
  }
  return done
}

/**
 * Removes the kernels {@link registerWasmTrainingKernels} registered and restores the ones it
 * replaced. For benchmarks and tests.
 *
 * @since 0.1.0
 * @category kernels
 */
export function unregisterWasmTrainingKernels(backendName = 'wasm'): void {
  for (const config of trainingKernelConfigs(backendName)) {
    const name = config.kernelName
    const existing = getKernel(name, backendName) as Marked | undefined
    if (!existing?.[MARK]) continue
    unregisterKernel(name, backendName)
    const original = shipped().get(`${backendName}/${name}`)
    if (original !== undefined) {
      registerKernel(original)
      // TF.js sets kernels up when the backend initialises; ours may have stood in since before that.
      const instance = findBackend(backendName)
      if (instance !== null) original.setupFunc?.(instance)
      shipped().delete(`${backendName}/${name}`)
    }
  }
}

/**
 * Whether the training kernels are registered for `backendName`.
 *
 * @since 0.1.0
 * @category kernels
 */
export function hasWasmTrainingKernels(backendName = 'wasm'): boolean {
  return trainingKernelConfigs(backendName).every(
    (c) => (getKernel(c.kernelName, backendName) as Marked | undefined)?.[MARK] === true,
  )
}
