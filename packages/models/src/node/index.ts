/**
 * `@nasjs/models/node`: datasets read from files, models saved to files, and training in worker
 * threads (Node only).
 * @packageDocumentation
 */
export * from './datasets.js'
export * from './images.js'
export * from './training.js'
export * from './quiet.js'
