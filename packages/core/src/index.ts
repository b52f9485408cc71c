export * from './errors.js'
export * from './rng.js'
export * from './objectives.js'
export type * from './evaluation.js'
