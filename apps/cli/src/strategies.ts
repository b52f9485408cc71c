import { NasError } from '@nasjs/core'
import { predictorStrategies } from '@nasjs/predictors'
import { builtinStrategies, createStrategyRegistry, type StrategyRegistry } from '@nasjs/strategies'

let registry: StrategyRegistry | undefined

/** Every strategy the CLI knows: the builtins and the predictor-guided ones (`bananas`, `gpbo`, `linas`). */
export function cliStrategyRegistry(): StrategyRegistry {
  registry ??= createStrategyRegistry([...builtinStrategies, ...predictorStrategies])
  return registry
}

const PREDICTOR_NAMES: ReadonlySet<string> = new Set(predictorStrategies.map((d) => d.name))

/**
 * Predictor-guided strategies may fit TF.js models (BANANAS' MLP ensemble): pick the TF.js backend
 * before the search starts and say which one (written to `log`, e.g. stderr; nothing with --json).
 */
export async function prepareStrategies(
  names: readonly string[],
  log: ((line: string) => void) | undefined,
): Promise<void> {
  if (!names.some((n) => PREDICTOR_NAMES.has(n))) return
  // TF.js is loaded here, for the strategies that fit TF.js models, and never for the others
  const { initBackend, formatBackendInfo } = await import('@nasjs/backend')
  const info = await initBackend({ quiet: true })
  log?.(`TF.js ${formatBackendInfo(info).split('; ')[0] ?? ''}`)
}

/**
 * Successive halving and Hyperband need an evaluator that trains at a chosen fidelity (epochs); the
 * tabular benchmarks only have final results, so they are refused with the strategies that can run.
 */
export function assertRunsOnTable(names: readonly string[]): void {
  const reg = cliStrategyRegistry()
  for (const n of names) {
    if (reg.get(n).requiresFidelity === true) {
      throw new NasError({
        code: 'CONFIG_INVALID',
        message: `strategy '${n}' needs an evaluator with fidelities (training epochs), and the NB201 table has only final results; use one of ${reg
          .names()
          .filter((m) => reg.get(m).requiresFidelity !== true)
          .join(', ')}`,
        value: n,
        allowed: reg.names().filter((m) => reg.get(m).requiresFidelity !== true),
      })
    }
  }
}
