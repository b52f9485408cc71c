/**
 * `@nasjs/proxies`: zero-cost proxies on TensorFlow.js models — score an untrained network from one
 * minibatch. Browser-safe: nothing here imports a Node module.
 * @packageDocumentation
 */
export type * from './types.js'
export * from './graph.js'
export * from './cost.js'
export { epeNas, zen } from './data-free.js'
export {
  fisher,
  flops,
  gradNorm,
  grasp,
  graspPerLayer,
  jacov,
  l2Norm,
  nwot,
  params,
  plain,
  snip,
  synflow,
} from './proxies.js'
export * from './registry.js'
export * from './score.js'
export * from './init.js'
export * from './evaluator.js'
export * from './robot.js'
export * from './parzc.js'
