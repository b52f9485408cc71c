/**
 * `@nasjs/quantization`: quantization for neural architecture search on TensorFlow.js — fake
 * quantization with straight-through gradients, calibration, BatchNorm folding and cost models.
 * Browser-safe: nothing here imports a Node module.
 * @packageDocumentation
 */
export * from './formats.js'
export {
  fakeQuant,
  fakeQuantFloat,
  fakeQuantInt,
  quantParams,
  quantizeToInt,
  tensorRange,
  type QuantParams,
} from './fake-quant.js'
export * from './calibrate.js'
export * from './fold.js'
export * from './cost.js'
export {
  PtqConfig,
  QatConfig,
  quantizationAwareTraining,
  quantizeNetwork,
  type QuantizedLayer,
  type QuantizedNetwork,
} from './ptq.js'
export * from './export.js'
export * from './simq.js'
export * from './fliqs.js'
