/**
 * Test helpers for strategies: the conformance suite, toy spaces and synthetic metrics.
 * Import from `@nasjs/strategies/testing` (needs vitest).
 * @since 0.1.0
 */
export * from './conformance.js'
export * from './decision-space.js'
export * from './synthetic.js'
