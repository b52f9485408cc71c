// The layer-by-layer executor lives in @nasjs/models (quantization runs networks with it too); the
// proxies' names for it stay exported from here.
export {
  isPrunable,
  isRelu,
  prunableWeights,
  runGraph,
  type BatchNormMode,
  type GraphRun,
  type RunGraphOptions,
} from '@nasjs/models'
