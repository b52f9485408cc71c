import { NasError } from '@nasjs/core'
import { initBackend } from '@nasjs/backend'
import * as tf from '@tensorflow/tfjs-core'

/**
 * Makes sure a TF.js backend is ready for the MLPs. When the application already picked one, that
 * backend is used; otherwise `@nasjs/backend`'s `initBackend()` picks the fastest that loads here
 * (tfjs-node, then wasm, then cpu) on first use, so importing this package has no side effects.
 * @internal
 */
export async function prepareTf(): Promise<void> {
  if (!hasActiveBackend()) await initBackend({ quiet: true })
}

/** TF.js with an active backend, for the synchronous fits; a `BACKEND` NasError when there is none. @internal */
export function activeTf(): typeof tf {
  if (!hasActiveBackend()) {
    throw new NasError({
      code: 'BACKEND',
      message:
        'the MLP predictors need an initialised TF.js backend for a synchronous fit: call `await initBackend()` from @nasjs/backend (or await any predictor.fit) first',
    })
  }
  return tf
}

function hasActiveBackend(): boolean {
  const engine = tf.engine() as unknown as { backendInstance?: unknown }
  return engine.backendInstance != null
}
