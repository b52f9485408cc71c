/**
 * Metric values by name, e.g. `{ valid_acc: 91.2, 'latency.pixel3': 4.1 }`.
 * @since 0.1.0
 * @category models
 */
export type Metrics = Record<string, number>

/**
 * What an evaluation ended with. Outcomes are data, not exceptions.
 * @since 0.1.0
 * @category models
 */
export type TrialOutcome =
  | { readonly status: 'complete'; readonly metrics: Metrics }
  | { readonly status: 'failed'; readonly reason: string }
  | { readonly status: 'pruned'; readonly step: number; readonly metrics?: Metrics }

/** What an evaluator is given besides the architecture. */
export interface EvaluatorContext {
  /** Aborted when the search stops; long evaluations should check it. */
  readonly signal: AbortSignal
  /** Intermediate results (e.g. per epoch) for pruning and progress. */
  report(step: number, metrics: Metrics): void
  /** The fidelity to evaluate at (e.g. epochs), for multi-fidelity strategies; absent means full. */
  readonly fidelity?: number
  /** A seed for stochastic evaluators (e.g. which training seed a benchmark row reports). */
  readonly seed?: number
}

/**
 * Evaluates one architecture: a benchmark lookup, a zero-cost proxy, a predictor or real training.
 * Rejections become failed trials in the driver.
 * @since 0.1.0
 * @category models
 */
export type Evaluator<A> = (arch: A, ctx: EvaluatorContext) => Promise<Metrics>

/** Static facts about an evaluator that a driver can check before the search starts. */
export interface EvaluatorInfo {
  /** The metrics every complete evaluation returns. */
  readonly metrics: readonly string[]
  /** Metrics that are cheap to get before the full evaluation (for checking constraints first). */
  readonly cheapMetrics?: readonly string[]
  /** The fidelities (e.g. epochs) the evaluator accepts, when it accepts any. */
  readonly fidelities?: readonly number[]
  /**
   * The evaluator declares that functionally equal architectures (equal `space.hash`) may share one
   * result, so the driver's `cache: 'auto'` keys its cache on the functional hash: true for a
   * table of accuracies whose differences between equal functions are training noise, false (the
   * default) for anything that measures the architecture as written, such as latency, where dead
   * operations still run.
   */
  readonly functionalCache?: boolean
}
