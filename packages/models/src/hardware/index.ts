export type { LatencyBlockSpec } from './block-spec.js'
export * from './measure.js'
export * from './lut.js'
export * from './metrics.js'
