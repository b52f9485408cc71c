import type { z } from 'zod'
import type { StrategyDefinition } from '@nasjs/strategies'
import { bananas, gpbo } from './bayes-opt.js'
import { linas } from './linas.js'

export { BananasConfig, GpboConfig, bananas, expectedImprovement, gpbo } from './bayes-opt.js'
export { LinasConfig, linas } from './linas.js'
export { StrategyEncoding } from './surrogate-base.js'

/**
 * The predictor-guided strategies, for registering next to the builtins:
 * `createStrategyRegistry([...builtinStrategies, ...predictorStrategies])`.
 * @since 0.1.0
 * @category strategies
 */
export const predictorStrategies = [bananas, gpbo, linas] as const satisfies readonly StrategyDefinition<
  z.ZodType,
  string
>[]
