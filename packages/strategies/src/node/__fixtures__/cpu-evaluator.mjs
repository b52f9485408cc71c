// A CPU-bound evaluator for the worker-pool tests (plain JS: workers load it without a TS loader).
import { threadId } from 'node:worker_threads'

export function evaluate(json, ctx) {
  // runSearch sends space.toJSON(arch): for nb201 an envelope { space, arch }; the pool test sends the array itself
  const arch = Array.isArray(json) ? json : json.arch
  if (arch.every((op) => op === 'none')) throw new Error('nothing to evaluate')
  if (arch[0] === 'avg_pool_3x3') throw new Error('no pool first')
  let x = 0
  for (let i = 0; i < 20000; i++) x = (x + Math.sqrt(i)) % 1000 // burn a little CPU
  const convs = arch.filter((op) => op === 'nor_conv_3x3').length
  return {
    acc: convs + (x > 1e9 ? 1 : 0),
    convs,
    fidelity: ctx.fidelity ?? -1,
    seed: ctx.seed ?? -1,
    threadId,
  }
}

export function spin(arg) {
  const end = Date.now() + arg.ms
  while (Date.now() < end) {
    /* busy */
  }
  return { spun: 1 }
}

// A factory (WorkerEvaluatorSpec.options): called once per worker with the options, returns the evaluator.
export async function scaled(options) {
  if (options.fail) throw new Error(`cannot start: ${options.fail}`)
  const loadedOnce = Date.now()
  return (json, ctx) => ({ ...evaluate(json, ctx), scale: options.scale, loadedOnce })
}
