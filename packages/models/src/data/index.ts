export * from './dataset.js'
export * from './parse.js'
