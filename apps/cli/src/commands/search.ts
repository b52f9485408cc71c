import { Command, Option } from '@commander-js/extra-typings'
import { CACHE_MODES } from '@nasjs/core'
import { readJournalHeader } from '@nasjs/strategies/node'
import type { Io } from '../context.js'
import { EXIT } from '../errors.js'
import { cliStrategyRegistry } from '../strategies.js'
import { TABLE_SPACES } from '../targets.js'
import { parseSearchFlags } from '../search/parse.js'
import { planSearch } from '../search/plan.js'
import { printSummary, writeRunReport } from '../search/report.js'
import { runPlannedSearch } from '../search/run.js'

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v]

/** `nas search`: parse the flags, plan the run, run it, report it. */
export function searchCommand(io: Io) {
  const strategies = cliStrategyRegistry()
  return new Command('search')
    .description(
      'run a search on a benchmark (or by training on data, or on zero-cost proxies) and write trials.jsonl, summary.json, pareto.csv and report.html',
    )
    .addOption(new Option('--space <id>', `search space (${TABLE_SPACES.join(', ')})`).default('nb201'))
    .option('--dataset <name>', "dataset (default: the benchmark's first, cifar10 for nb201)")
    .addOption(
      new Option('--strategy <name>', `strategy (${strategies.names().join(', ')})`).default('nsga2'),
    )
    .addOption(new Option('--budget <n>', 'trials to run (cache hits included)').default('1000'))
    .addOption(new Option('--seed <n>', 'random seed').default('0'))
    .option(
      '--objective <metric:dir>',
      'objective with its direction, repeatable (default for nb201: valid_acc:max latency.pixel3:min)',
      collect,
    )
    .option('--constraint <expr>', 'constraint, repeatable, e.g. "latency.pixel3<=5"', collect)
    .option('--config <file>', "JSON file with the strategy's config (see nas strategies)")
    .option('--out <dir>', 'run directory (default: runs/<strategy>-<space>-<dataset>-<time>)')
    .option('--resume', 'continue the run in --out from its journal (only --budget may change)')
    .addOption(
      new Option(
        '--concurrency <n>',
        'evaluations in flight (with --evaluator train: worker threads, one candidate each)',
      ).default('1'),
    )
    .addOption(
      new Option(
        '--cache <mode>',
        'result cache: exact (equal architectures evaluated once), functional (equal functional hashes), off; auto = functional where the benchmark says equal functions share a result (NB201 accuracies), exact for hardware metrics (latency, energy: dead ops still cost time)',
      )
        .choices(['auto', ...CACHE_MODES] as const)
        .default('auto' as const),
    )
    .option(
      '--data <dir|dataset>',
      'table: benchmark data directory, used alone (default: NASJS_DATA_DIR, then @nasjs/benchmark-data, then ../shared/data); train: the data to train on: fashion-mnist (default), digits, a CSV file or a folder of PNG/JPEG images (one subfolder per class)',
    )
    .addOption(
      new Option(
        '--evaluator <kind>',
        'table: look every architecture up in the benchmark; train: build and train it on --data; proxy: score it untrained with zero-cost proxies on a minibatch of --data; supernet: evaluate it with the shared weights of the trained --supernet',
      )
        .choices(['table', 'train', 'proxy', 'supernet'] as const)
        .default('table' as const),
    )
    .option(
      '--epochs <n>',
      'train: epochs of a full trial (multi-fidelity strategies train fewer) (default: 3)',
    )
    .option('--train-size <n>', 'train: training examples (default: fashion-mnist 2000, else the rest)')
    .option(
      '--valid-size <n>',
      'train: validation examples, the search signal (default: fashion-mnist 1000, else 10 %)',
    )
    .option('--test-size <n>', 'train: test examples, reported only (default: fashion-mnist 2000, else 20 %)')
    .option(
      '--width <n>',
      "train, proxy: channels of the first stage (nb201, darts) or of the stem (nb101) (default: train 8, proxy the builder's)",
    )
    .option(
      '--cells <n>',
      "train, proxy: nb201: cells per stage (default: train 1); darts: cells in all (train 5); nb101: cells per stack (train 1); proxy: the builder's",
    )
    .option('--batch-size <n>', 'train: batch size; proxy: examples in the minibatch (default: 64)')
    .option('--lr <x>', 'train: peak learning rate (default: 0.05, SGD with Nesterov momentum, cosine)')
    .option('--train-config <file>', 'train: JSON file with the training recipe (optimizer, schedule, ...)')
    .option(
      '--proxy <list>',
      'proxy: comma-separated zero-cost proxies, or all (see nas proxies list) (default: synflow)',
    )
    .option(
      '--proxy-weights <list>',
      'proxy: search on zc_score = the weighted sum of proxies, e.g. synflow=1,nwot=0.01',
    )
    .option(
      '--supernet <dir>',
      'supernet: the trained supernet (nas supernet train --out); its space is searched',
    )
    .option(
      '--calibration <n>',
      'supernet: training images BatchNorm is recalibrated on, per subnet (default: 500)',
    )
    .option(
      '--quant <formats>',
      'supernet: search a quantization policy with each subnet (SimQ-NAS), each block in one of these formats, e.g. int4,int8 (also --space ofa-mbv3*quant-policy)',
    )
    .option(
      '--quant-edges <w:a>',
      'supernet with --quant: formats of the stem, first block and head, weights:activations (default: int8:int8)',
    )
    .option(
      '--lut <file>',
      'the latency table of the metric latency.lut (from nas hardware lut build); or name it in the metric, latency.lut:<file>',
    )
    .option(
      '--help-predictor <file>',
      'the HELP latency predictor of the metric latency.help (from nas hardware predictor train); nb201 only',
    )
    .option(
      '--help-device <file>',
      'the device latency.help predicts for (from nas hardware predictor device); or name it in the metric, latency.help:<file>',
    )
    .option(
      '--mnas <spec>',
      "acc,lat,target[,alpha,beta]: reward.mnas = acc * (lat / target)^w, MnasNet's reward (w = alpha at or under target, else beta; default -0.07)",
    )
    .option('--json', 'NDJSON progress on stderr; the summary as the last line of stdout')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Metrics: valid_acc, test_acc, params, flops, latency.<device>, energy.<device>
  with --evaluator train: valid_acc, test_acc, params, flops, train_seconds
  with --evaluator proxy: zc.<proxy> for each of --proxy, zc_score (with --proxy-weights), params, flops
  with --evaluator supernet: acc (held-out accuracy), params, flops, test_acc with --test-size (see nas supernet search);
    with --quant also float_acc, bytes (quantized weights), bitops, peak_act_bytes
  with every evaluator, measured or predicted here: latency.tfjs-<backend> (e.g. latency.tfjs-wasm),
    latency.lut:<table> (or latency.lut with --lut <table>), latency.help:<device file> (with
    --help-predictor; or latency.help with --help-device), memory.peak (bytes),
    size.bytes (float32 weights), reward.mnas (with --mnas)
  HW-NAS-Bench devices: edgegpu raspi4 edgetpu pixel3 eyeriss fpga; HELP settings e.g. titan_rtx_1, gold_6226
The run directory is locked while a search runs in it; a second search there is refused.
Examples:
  nas search                                   # NSGA-II on NB201 CIFAR-10, valid_acc vs Pixel 3 latency
  nas search --strategy rea --budget 150 --objective valid_acc:max --out runs/rea
  nas search --strategy rea --objective valid_acc:max --constraint "latency.pixel3<=5"
  nas search --out runs/rea --resume           # continue an interrupted run
  nas search --out runs/rea --resume --budget 300   # ... with a larger budget
  nas search --evaluator train --data fashion-mnist --strategy rea --budget 30 --objective valid_acc:max
                                               # train every candidate (scaled-down NB201 network)
  nas search --objective valid_acc:max --objective latency.tfjs-wasm:min   # latency measured on this machine
  nas search --objective valid_acc:max --objective latency.lut:nb201-lut.json:min   # latency from a table
  nas search --strategy rea --objective valid_acc:max --constraint "latency.lut:nb201-lut.json<=6"
  nas search --strategy rea --objective reward.mnas:max --mnas valid_acc,latency.lut,6 --lut nb201-lut.json
  nas search --objective valid_acc:max --objective latency.help:phone.json:min --help-predictor help.json
  nas search --evaluator proxy --proxy synflow,nwot --proxy-weights synflow=1,nwot=0.05 --strategy rea --budget 200
                                               # score every candidate untrained (full-size NB201 network)`,
    )
    .action(async (raw, command) => {
      await runSearchCommand(io, strategies)(raw, (name) => command.getOptionValueSource(name) === 'cli')
    })
}

/** Runs a search from `nas search`'s raw options (`nas supernet search` calls it too). */
export type SearchCommandRunner = (raw: unknown, given: (name: string) => boolean) => Promise<void>

/** Parse the flags, plan the run, run it, report it. */
export function runSearchCommand(io: Io, strategies = cliStrategyRegistry()): SearchCommandRunner {
  return async (raw, given) => {
    const req = parseSearchFlags(raw, given)
    const plan = await planSearch(req, strategies)
    const run = await runPlannedSearch(plan, strategies, io, req)
    const study = run.result.study
    const header = readJournalHeader(plan.journal)!
    const summary = writeRunReport({
      dir: plan.dir,
      header,
      dataset: plan.dataset,
      ledger: study.ledger,
      session: run.session,
      truth: run.truth,
      budget: study.budget.trials ?? study.ledger.trials.length,
      complete: !run.interrupted,
    })
    if (req.json) io.out(JSON.stringify(summary))
    else printSummary(io, summary, plan.target.showMetrics)
    if (run.interrupted) {
      const again = plan.supernet === undefined ? 'nas search' : 'nas supernet search --supernet <dir>'
      io.err.write(
        `\ninterrupted after ${summary.trials} trials; nothing is lost. Resume with:\n  ${again} --out ${plan.outArg} --resume\n`,
      )
      process.exitCode = EXIT.interrupted
    }
  }
}
