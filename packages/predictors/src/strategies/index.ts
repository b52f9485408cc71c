import type { z } from 'zod'
import type { StrategyDefinition } from '@nasjs/strategies'
import { predictorModels, type PredictorDefinition } from '../registry.js'
import { bananas, bananasWith, gpbo, gpboWith } from './bayes-opt.js'
import { linas, linasWith } from './linas.js'

export { BananasConfig, GpboConfig, bananas, expectedImprovement, gpbo } from './bayes-opt.js'
export { LinasConfig, linas } from './linas.js'
export { ExtraFeatures, StrategyEncoding } from './surrogate-base.js'

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

/**
 * The predictor-guided strategies with `extra` models selectable in their `predictor` field (and
 * linas's `objectivePredictors`) besides the built-ins, for example ParZC from `@nasjs/proxies`:
 * `createStrategyRegistry([...builtinStrategies, ...predictorStrategiesWith([parzcPredictor])])`,
 * then `{ predictor: { kind: 'parzc' }, extraFeatures: 'only' }` with its per-layer features as
 * `StrategyContext.features`.
 * @since 0.2.0
 * @category strategies
 */
export function predictorStrategiesWith(
  extra: readonly PredictorDefinition[],
): readonly StrategyDefinition<z.ZodType, string>[] {
  const models = predictorModels(extra)
  return [bananasWith(models), gpboWith(models), linasWith(models)]
}
