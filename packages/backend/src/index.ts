/**
 * `@nasjs/backend`: picks the fastest TensorFlow.js backend that loads here (tfjs-node, then wasm,
 * then cpu) and gives the wasm backend the gradient kernels that training needs.
 *
 * @packageDocumentation
 */
export {
  BACKEND_ENV,
  BACKEND_ORDER,
  BackendName,
  InitBackendOptions,
  describeBackend,
  formatBackendInfo,
  initBackend,
  usableBackends,
  type BackendAttempt,
  type BackendInfo,
} from './init-backend.js'
export {
  hasWasmTrainingKernels,
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
  type RegisteredKernel,
} from './kernels/register.js'
export {
  TRAINING_KERNEL_NAMES,
  trainingKernelConfigs,
  type TrainingKernelName,
} from './kernels/training-kernels.js'
export { expectNoLeaks, memorySnapshot, type MemorySnapshot, type NoLeaksOptions } from './leaks.js'
export { WASM_BINARIES, wasmBinaryFolder } from './wasm-paths.js'
