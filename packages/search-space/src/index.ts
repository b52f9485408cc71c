export type * from './types.js'
export * from './spaces/nb201-codec.js'
