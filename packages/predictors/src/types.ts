import type { Rng } from '@nasjs/core'

/**
 * A feature matrix: one row per architecture, every row the same length. Rows may be typed arrays
 * (as `SearchSpace.encode` returns them) or plain number arrays.
 * @since 0.1.0
 * @category models
 */
export type FeatureMatrix = readonly (Float32Array | Float64Array | readonly number[])[]

/**
 * What a predictor says about a batch of architectures: a mean per row and, where the model can, a
 * standard deviation per row (same units as the targets).
 * @since 0.1.0
 * @category models
 */
export interface Prediction {
  readonly mean: Float64Array
  readonly std?: Float64Array
}

/**
 * Static facts about a predictor that a driver can check before it starts (STYLE.md habit 9, after
 * NASLib's `get_data_reqs`).
 * @since 0.1.0
 * @category models
 */
export interface PredictorRequirements {
  /** Every predictor here learns from labelled architectures. */
  readonly trainingData: 'labels'
  /** None of these models needs a partial learning curve. */
  readonly partialLearningCurve: false
  /** Whether `predict` returns a standard deviation. */
  readonly uncertainty: boolean
  /** Whether `fit` uses `FitOptions.pretrain` (FBNetV3-style pretraining on free statistics). */
  readonly pretraining: boolean
}

/**
 * Free statistics (FLOPs, params, ...) of a pool of architectures, known without training them. A
 * model that supports pretraining first learns to predict these columns, then fits the targets.
 * @since 0.1.0
 * @category models
 */
export interface PretrainData {
  /** Feature rows of the pool (same width as the training features). */
  readonly X: FeatureMatrix
  /** One row of statistics per pool architecture (e.g. `[flops, params]`). */
  readonly targets: readonly (readonly number[])[]
}

/**
 * Per-call options of {@link Predictor.fit}.
 * @since 0.1.0
 * @category models
 */
export interface FitOptions {
  /** Randomness of the fit (bootstraps, initial weights, minibatches); default `new Rng(config.seed)`. */
  readonly rng?: Rng
  /** Free statistics for pretraining, used by models with `requirements.pretraining`. */
  readonly pretrain?: PretrainData
}

/**
 * A fitted model: immutable, predicts for any number of rows of the width it was fitted on.
 * @since 0.1.0
 * @category models
 */
export interface FittedPredictor {
  readonly name: string
  /** The number of features per row it was fitted on. */
  readonly nFeatures: number
  /** Predicts every row; throws a `NasError` (`INPUT_INVALID`) on a row of the wrong width or a NaN. */
  predict(X: FeatureMatrix): Prediction
  /** Releases resources (TF.js weights); a no-op for the pure-JS models. Predicting afterwards throws. */
  dispose(): void
}

/**
 * A performance predictor (the scikit-learn estimator contract): it stores its config only, and
 * `fit(X, y)` returns a new fitted model without changing the predictor.
 *
 * @example
 * ```ts
 * const model = await createPredictor({ kind: 'gp' }).fit(X, y)
 * const { mean, std } = model.predict(Xtest)
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Predictor {
  readonly name: string
  readonly requirements: PredictorRequirements
  fit(X: FeatureMatrix, y: ArrayLike<number>, options?: FitOptions): Promise<FittedPredictor>
  /**
   * Loads what `fitSync` needs and resolves when it is ready: for the MLPs, TF.js and a backend
   * (picked by `@nasjs/backend`'s `initBackend()` unless the application already chose one); for the
   * other models nothing. Idempotent. `fit` prepares by itself; TF.js is never loaded at import.
   */
  prepare(): Promise<void>
  /**
   * The same fit, synchronously, for ask/tell strategies (whose `ask` is synchronous). The MLPs need
   * one awaited `prepare()` (or `fit`) first; without it they throw a `NasError` with code `BACKEND`.
   */
  fitSync(X: FeatureMatrix, y: ArrayLike<number>, options?: FitOptions): FittedPredictor
  /**
   * Always throws a `NasError` (`NOT_FITTED`): an unfitted predictor cannot predict. Predict with the
   * model that `fit` returns.
   */
  predict(X: FeatureMatrix): never
}
