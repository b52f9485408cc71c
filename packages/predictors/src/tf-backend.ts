import { NasError } from '@nasjs/core'
import type * as TF from '@tensorflow/tfjs-core'

// TF.js is loaded on first need, not at import: importing @nasjs/predictors (or a CLI that lists
// its strategies) costs no TF.js. The module is kept once loaded so the synchronous fits can use it.
let tfjs: typeof TF | undefined

/**
 * Loads TF.js and makes sure a backend is ready for the MLPs. When the application already picked
 * one, that backend is used; otherwise `@nasjs/backend`'s `initBackend()` picks the fastest that
 * loads here (tfjs-node, then wasm, then cpu). Importing this package has no side effects.
 * @internal
 */
export async function prepareTf(): Promise<void> {
  tfjs ??= await import('@tensorflow/tfjs-core')
  if (!hasActiveBackend(tfjs)) {
    const { initBackend } = await import('@nasjs/backend')
    await initBackend({ quiet: true })
  }
}

/** TF.js with an active backend, for the synchronous fits; a `BACKEND` NasError when there is none. @internal */
export function activeTf(): typeof TF {
  if (tfjs === undefined || !hasActiveBackend(tfjs)) {
    throw new NasError({
      code: 'BACKEND',
      message:
        "the MLP predictors need TF.js loaded with a backend for a synchronous fit: `await predictor.prepare()` (or one awaited predictor.fit, or the strategy's prepare) first",
    })
  }
  return tfjs
}

function hasActiveBackend(tf: typeof TF): boolean {
  const engine = tf.engine() as unknown as { backendInstance?: unknown }
  return engine.backendInstance != null
}
