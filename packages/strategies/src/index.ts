/**
 * `@nasjs/strategies`: ask/tell NAS strategies (random, grid, regularized evolution, local search,
 * NSGA-II, MCTS, REINFORCE, diverse beam search, successive halving, Hyperband), their registry, and
 * the search driver (`runSearch`, `Study`) with its result cache, trial storage and resume. Everything
 * here is platform-free; the file journal and the worker pool are in `@nasjs/strategies/node`.
 * @since 0.1.0
 */
export type * from './types.js'
export * from './base.js'
export * from './registry.js'
export * from './builtins.js'
export * from './strategies/random.js'
export * from './strategies/grid.js'
export * from './strategies/rea.js'
export * from './strategies/local-search.js'
export * from './strategies/nsga2.js'
export * from './strategies/nsga2-operators.js'
export * from './strategies/mcts.js'
export * from './strategies/reinforce.js'
export * from './strategies/beam.js'
export * from './strategies/successive-halving.js'
export * from './driver/records.js'
export * from './driver/storage.js'
export * from './driver/ledger.js'
export { ledgerFromJournal } from './driver/replay.js'
export type { ReplayState } from './driver/replay.js'
export * from './driver/study.js'
export * from './driver/run-search.js'
export * from './runner.js'
