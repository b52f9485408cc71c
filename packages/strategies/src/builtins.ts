import { diverseBeam } from './strategies/beam.js'
import { gridSearch } from './strategies/grid.js'
import { localSearch } from './strategies/local-search.js'
import { mcts } from './strategies/mcts.js'
import { nsga2 } from './strategies/nsga2.js'
import { randomSearch } from './strategies/random.js'
import { regularizedEvolution } from './strategies/rea.js'
import { reinforce } from './strategies/reinforce.js'
import { simulatedAnnealing } from './strategies/simulated-annealing.js'
import { hyperband, successiveHalving } from './strategies/successive-halving.js'
import type { z } from 'zod'
import type { StrategyDefinition } from './types.js'

/**
 * The builtin strategy definitions, in the order `nas strategies` lists them. This list is the one
 * place a builtin is registered: the registry, the CLI, the conformance and golden tests and the
 * strategies table of the package README all read it.
 * @since 0.1.0
 * @category strategies
 */
export const builtinStrategies = [
  randomSearch,
  gridSearch,
  regularizedEvolution,
  localSearch,
  nsga2,
  mcts,
  reinforce,
  diverseBeam,
  successiveHalving,
  hyperband,
  simulatedAnnealing,
] as const satisfies readonly StrategyDefinition<z.ZodType, string>[]
