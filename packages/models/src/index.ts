/**
 * `@nasjs/models`: architectures of nasjs search spaces as TensorFlow.js networks, with exact
 * parameter and FLOP counts. Browser-safe: nothing here imports a Node module.
 * @packageDocumentation
 */
export { BUILDABLE_SPACES, buildModel, modelCost, type BuildableSpace, type NetworkOptions } from './build.js'
export { KeepFirst, Zero } from './layers.js'
export { NB201_EDGES, Nb201NetworkOptions, buildNb201, nb201Cost } from './nb201.js'
export { DartsNetworkOptions, buildDarts, dartsCost } from './darts.js'
export { Nb101NetworkOptions, buildNb101, nb101Cost, nb101VertexChannels } from './nb101.js'
export { OFA_MBV3_LAYOUT, OfaMbv3NetworkOptions, buildOfaMbv3, ofaMbv3Cost } from './ofa-mbv3.js'
export { FbnetNetworkOptions, buildFbnet, fbnetCost } from './fbnet.js'
export {
  TransformerNetworkOptions,
  VitNetworkOptions,
  buildTransformer,
  buildVit,
  transformerCost,
  vitCost,
} from './vit.js'
export {
  NasFirstToken,
  NasMultiHeadAttention,
  NasTokenEmbedding,
  type NasAttentionMode,
  type NasMultiHeadAttentionArgs,
  type NasTokenEmbeddingArgs,
} from './transformer-layers.js'
export {
  DilatedDepthwiseConv2d,
  DropPath,
  type DilatedDepthwiseConv2dArgs,
  type DropPathArgs,
} from './darts-layers.js'
export * from './data/index.js'
export * from './train.js'
export * from './evaluator.js'
export { exportArtifacts, modelJson } from './export.js'
export { parseConfig } from './config.js'
export {
  buildMbNetwork,
  makeDivisible,
  mbNetworkCost,
  mbNetworkParts,
  type MbActivation,
  type MbLayer,
  type MbNetwork,
} from './mbconv.js'
export * from './hardware/index.js'
export * from './graph.js'
