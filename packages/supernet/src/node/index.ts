/**
 * `@nasjs/supernet/node`: supernet directories (checkpoints) on disk, and supernet evaluation in
 * worker threads (Node only).
 * @packageDocumentation
 */
export * from './files.js'
export * from './workers.js'
export * from './oneshot-files.js'
