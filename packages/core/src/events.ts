import type { Metrics, TrialOutcome } from './evaluation.js'
import type { Budget } from './search-rules.js'

/**
 * Events a search emits, for progress renderers (terminal spinner, NDJSON, the web app) and logs.
 * Every event is a plain JSON object with a `type` tag.
 * @since 0.1.0
 * @category models
 */
export type SearchEvent =
  | {
      readonly type: 'search-start'
      readonly study: string
      readonly space: string
      readonly strategy: string
      readonly objectives: readonly string[]
      readonly budget: Budget
      readonly resumed: boolean
      readonly trialsDone: number
    }
  | {
      readonly type: 'trial-start'
      readonly trial: number
      readonly arch: string
      readonly hash: string
      /** The fidelity (e.g. epochs) the trial is evaluated at; absent means full. */
      readonly fidelity?: number
    }
  | {
      readonly type: 'trial-end'
      readonly trial: number
      readonly arch: string
      readonly hash: string
      readonly outcome: TrialOutcome
      /** True when the result came from the functional-hash cache (no evaluation ran). */
      readonly cached: boolean
      readonly durationMs: number
      readonly fidelity?: number
    }
  | {
      readonly type: 'trial-report'
      readonly trial: number
      readonly step: number
      readonly metrics: Metrics
    }
  | {
      readonly type: 'constraint-skip'
      readonly trial: number
      readonly arch: string
      readonly constraint: string
      readonly value: number
    }
  | {
      readonly type: 'progress'
      readonly trialsDone: number
      readonly trialsTotal?: number
      readonly elapsedMs: number
      readonly cacheHits: number
      readonly failed: number
      /** Trials that ran the evaluator (not answered by the cache or a cheap constraint). */
      readonly evaluations?: number
      /** Best value per objective so far (single objective) or the current front size. */
      readonly best?: Metrics
      readonly frontSize?: number
    }
  | {
      readonly type: 'search-end'
      readonly reason: 'budget' | 'aborted' | 'exhausted' | 'stalled' | 'error'
      readonly trialsDone: number
      readonly cacheHits: number
      readonly failed: number
      readonly evaluations?: number
      readonly elapsedMs: number
    }

/** A listener for {@link SearchEvent}s. */
export type SearchEventListener = (event: SearchEvent) => void
