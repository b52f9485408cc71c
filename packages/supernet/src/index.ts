/**
 * `@nasjs/supernet`: weight-sharing supernets on TensorFlow.js. Browser-safe: nothing here imports a
 * Node module (saving and loading supernet directories is in `@nasjs/supernet/node`).
 * @packageDocumentation
 */
export {
  OFA_MBV3_FMNIST,
  OFA_MBV3_SUPERNET,
  SupernetConfig,
  largestArch,
  parseSupernetConfig,
  smallestArch,
  supernetSpace,
  type SupernetShape,
} from './config.js'
export type { BatchNormOptions, ElasticSupernet } from './base.js'
export {
  ElasticFbnet,
  FBNET_FMNIST,
  FbnetSupernetConfig,
  fbnetSupernetSpace,
  isFbnetSupernet,
  parseFbnetSupernetConfig,
  type FbnetForwardOptions,
  type FbnetSlotInfo,
  type FbnetSupernetShape,
} from './fbnet.js'
export {
  ElasticMbv3,
  resizeImages,
  type BlockSlotInfo,
  type BnStats,
  type ForwardOptions,
  type NamedArray,
  type SuperkernelBlock,
} from './elastic.js'
export {
  checkCounts,
  checkData as checkSupernetData,
  evaluateSubnet,
  exportSubnet,
  exportSubnetArtifacts,
  recalibrate,
  resizeDataset,
  resizedSplits,
} from './subnet.js'
export {
  SupernetTrainConfig,
  parseSupernetTrainConfig,
  supernetPhases,
  trainSupernet,
  type SupernetPhase,
  type SupernetProgress,
  type SupernetTrainResult,
  type SupernetTrainState,
  type TrainSupernetOptions,
} from './train.js'
export {
  ComplexitySampler,
  extremeSubnet,
  mutateSubnet,
  sampleSubnet,
  type Choices,
  type ComplexityState,
} from './sampling.js'
export {
  ArchitectureGenerator,
  ShiftNasConfig,
  shiftNasCost,
  shiftNasMasks,
  trainShiftNas,
  type ShiftNasProgress,
  type ShiftNasResult,
  type ShiftNasState,
} from './shiftnas.js'
export { SUPERNET_METRICS, supernetEvaluator, type SupernetEvaluatorOptions } from './evaluator.js'
export {
  CELL_OPS,
  CellSupernet,
  CellSupernetConfig,
  type CellSupernetShape,
  type EdgeMixing,
  type OneShotSupernet,
} from './oneshot/cell-supernet.js'
export {
  DartsCellSupernet,
  DartsCellSupernetConfig,
  type DartsCellSupernetShape,
} from './oneshot/darts-supernet.js'
export {
  ONESHOT_METHODS,
  OneShotConfig,
  binaryGates,
  nb201EdgeLatencies,
  gdasTau,
  gumbelSample,
  maxWWeights,
  oneShotLr,
  searchCell,
  type OneShotProgress,
  type OneShotResult,
  type OneShotShape,
  type OneShotState,
  type SearchCellOptions,
} from './oneshot/search.js'
export {
  FewShotConfig,
  fewShotSearch,
  gradientMatchingSplit,
  type EdgeSplit,
  type FewShotLeaf,
  type FewShotOptions,
  type FewShotResult,
  type FewShotSplit,
  type GradientMatchOptions,
} from './oneshot/few-shot.js'
export {
  SinglePathConfig,
  singlePathIndicator,
  singlePathSearch,
  type SinglePathEpoch,
  type SinglePathOptions,
  type SinglePathProgress,
  type SinglePathResult,
  type SinglePathState,
} from './oneshot/single-path.js'
export {
  perturbationSelect,
  type PerturbationEdge,
  type PerturbationOptions,
  type PerturbationResult,
} from './oneshot/perturbation.js'
