import type { Rng } from '@nasjs/core'
import type * as tfl from '@tensorflow/tfjs-layers'

/**
 * One minibatch for a proxy, as typed arrays (no tensors, so nothing can leak: a proxy makes its
 * tensors inside `tf.tidy`). `xs` holds `n` examples of `shape` (NHWC images) one after another;
 * `ys` their class labels, when the batch has labels.
 * @since 0.1.0
 * @category proxies
 */
export interface ProxyBatch {
  readonly n: number
  /** The shape of one example, e.g. `[32, 32, 3]`. */
  readonly shape: readonly number[]
  readonly xs: Float32Array
  readonly ys?: Int32Array
}

/**
 * What a proxy needs: nothing but the network (`data-free`: it makes its own input, e.g. all ones
 * or Gaussian noise), inputs without labels (`data`), or labelled inputs (`labels`).
 * @since 0.1.0
 * @category proxies
 */
export type ProxyNeeds = 'data-free' | 'data' | 'labels'

/**
 * What {@link ProxyDefinition.score} gets besides the model and the batch.
 * @since 0.1.0
 * @category proxies
 */
export interface ProxyContext {
  /** Randomness of the proxy (Zen-NAS's Gaussian inputs and re-initialisation, the `random` data). */
  readonly rng: Rng
  /**
   * Results shared by the proxies scoring one model on one batch (one pass of loss gradients serves
   * `snip`, `plain` and `grad_norm`; one input Jacobian `jacov` and `epe_nas`). `scoreProxies` gives
   * every proxy of a call the same map; leave it out to compute everything afresh.
   */
  readonly cache?: Map<string, unknown>
}

/**
 * A zero-cost proxy: a definition object, registered by name as strategies are. `score` may change
 * the model's weights while it runs (SynFlow takes their absolute values, Zen-NAS re-initialises
 * them) but restores them before it returns; it never trains the model.
 *
 * @example
 * ```ts
 * import { createProxyRegistry, type ProxyDefinition } from '@nasjs/proxies'
 * import { countTrainableParams } from '@nasjs/proxies'
 *
 * const width: ProxyDefinition = {
 *   name: 'width',
 *   description: 'trainable parameters, in thousands',
 *   needs: 'data-free',
 *   gradients: false,
 *   higherIsBetter: true,
 *   references: [],
 *   score: (model) => countTrainableParams(model) / 1e3,
 * }
 * const registry = createProxyRegistry()
 * registry.register(width)
 * ```
 * @since 0.1.0
 * @category proxies
 */
export interface ProxyDefinition {
  readonly name: string
  readonly description: string
  readonly needs: ProxyNeeds
  /** Whether the proxy back-propagates (it then costs about one training step). */
  readonly gradients: boolean
  /** Whether higher scores go with higher accuracy, as the proxy's paper uses it. */
  readonly higherIsBetter: boolean
  /** The paper (and reference implementation) the proxy follows. */
  readonly references: readonly string[]
  /**
   * The score of `model` at its current weights; `batch` is absent only for `data-free` proxies. A
   * number, or a promise of one (a proxy that reads tensors back asynchronously, as WebGL prefers).
   */
  score(model: tfl.LayersModel, batch: ProxyBatch | undefined, ctx: ProxyContext): number | Promise<number>
}
