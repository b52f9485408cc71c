import { predictorStrategies } from '@nasjs/predictors'
import { builtinStrategies, createStrategyRegistry, type StrategyRegistry } from '@nasjs/strategies'

let registry: StrategyRegistry | undefined

/** Every strategy the CLI knows: the builtins and the predictor-guided ones (`bananas`, `gpbo`, `linas`). */
export function cliStrategyRegistry(): StrategyRegistry {
  registry ??= createStrategyRegistry([...builtinStrategies, ...predictorStrategies])
  return registry
}
