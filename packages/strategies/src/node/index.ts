/**
 * `@nasjs/strategies/node`: the Node-only parts of the search driver: the JSONL file journal with
 * its lock ({@link fileStorage}), and a `worker_threads` pool for CPU-bound evaluators.
 * @since 0.1.0
 */
export * from './file-storage.js'
export * from './worker-pool.js'
