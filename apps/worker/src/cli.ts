/**
 * The `lovage` command line (started by bin/lovage.mjs, which registers tsx first).
 *
 *   lovage worker -A ./tasks.ts [-P prefork|threads|async] [-c N] [-Q q1,q2] [--prefetch-multiplier M]
 *                 [--max-tasks-per-child K] [--max-memory-per-child MB] [--time-limit S] [--soft-time-limit S]
 *                 [-E] [-n name@%h] [-l info] [--broker URL] [--result-backend URL]
 *                 [--metrics-port P [--metrics-host H]]
 *   lovage inspect active|reserved|scheduled|stats|registered|revoked|active_queues|conf|ping|query_task|report
 *   lovage control revoke|rate_limit|time_limit|pool_grow|pool_shrink|add_consumer|cancel_consumer|shutdown …
 *   lovage monitor [--metrics-port P [--metrics-host H]]   (folds events into the console's task-state index)
 *   lovage purge -Q q1,q2 [--force]
 *   lovage beat -A ./tasks.ts [--lease-ttl S] [-l info] [--broker URL]   (sends the app's beatSchedule)
 *   (inspect, control, monitor, purge: [-A module | --broker URL [--key-prefix P] [--state redis://…]])
 *
 * Usage errors (bad flags, a missing or broken tasks module, no app in it) print one `lovage: error: …` line
 * on stderr and exit with code 2; commander's own errors are routed through the same format.
 */
import os from 'node:os';
import { INSPECT_METHODS, POOL_KINDS, type InspectMethod } from '@lovage/runtime';
import { checkUrl } from '@lovage/runtime/urls';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { oneLine, UsageError } from './errors';
import { DEFAULT_NODENAME } from './hostname';
import { LOG_LEVELS, type LogLevelName } from './logger';
import { runBeat, type BeatCommandOptions } from './beat-command';
import { runMonitor } from './monitor-command';
import { runPurge } from './purge-command';
import { CONTROL_METHODS, runControl, runInspect, type ControlMethod } from './remote-command';
import { runWorker, type WorkerCommandOptions } from './worker-command';

function fail(message: string): never {
  process.stderr.write(`lovage: error: ${message}\n`);
  process.exit(2);
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new InvalidArgumentError('expected an integer >= 1');
  }
  return Number(value);
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError('expected a number > 0');
  return n;
}

/** A TCP port to listen on; 0 takes a free one. */
function port(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) > 65535)
    throw new InvalidArgumentError('expected a port 0-65535');
  return Number(value);
}

/** `--metrics-port` of `worker` and `monitor`: no metrics are served unless a port is given. */
function metricsPortOption(): Option {
  return new Option(
    '--metrics-port <port>',
    'serve Prometheus metrics at http://<metrics-host>:<port>/metrics (default: LOVAGE_METRICS_PORT, else none; 0: a free port)',
  ).argParser(port);
}

function metricsHostOption(): Option {
  return new Option('--metrics-host <host>', 'interface the metrics endpoint binds').default('127.0.0.1');
}

function nameList(value: string, previous: string[] | undefined): string[] {
  const names = value
    .split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError('expected a comma-separated list of node names');
  return [...(previous ?? []), ...names];
}

function queueList(value: string, previous: string[] | undefined): string[] {
  const queues = value
    .split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  if (queues.length === 0) throw new InvalidArgumentError('expected a comma-separated list of queue names');
  return [...(previous ?? []), ...queues];
}

function logLevel(value: string): LogLevelName {
  const level = value.trim().toLowerCase();
  if (!Object.hasOwn(LOG_LEVELS, level)) {
    throw new InvalidArgumentError(`expected one of ${Object.keys(LOG_LEVELS).join(', ')}`);
  }
  return level as LogLevelName;
}

function logLevelOption(): Option {
  return new Option('-l, --loglevel <level>', `log level: ${Object.keys(LOG_LEVELS).join(', ')}`)
    .argParser(logLevel)
    .default('info');
}

function brokerUrl(value: string): string {
  const problem = checkUrl('broker', value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

function backendUrl(value: string): string {
  const problem = checkUrl('backend', value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

function stateUrl(value: string): string {
  const problem = checkUrl('state', value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

export function buildProgram(): Command {
  const program = new Command('lovage')
    .description('Lovage: a Celery-compatible task queue for TypeScript.')
    .exitOverride()
    .configureOutput({
      // commander's messages look like "error: unknown option '--x'\n(Did you mean --y?)".
      outputError: (str) => {
        process.stderr.write(`lovage: error: ${oneLine(str.replace(/^error: /, ''))}\n`);
      },
    });

  program
    .command('worker')
    .description('Start a worker that runs the tasks of an app.')
    .requiredOption(
      '-A, --app <module>',
      'tasks module (.ts, .mts, .cts, .js) exporting the app as its default export or as `app`',
    )
    .option(
      '-Q, --queues <queues>',
      "comma-separated queues to consume (default: the app's default queue)",
      queueList,
    )
    .addOption(
      new Option(
        '-P, --pool <kind>',
        'prefork (child processes), threads (worker_threads) or async (event loop)',
      )
        .choices(POOL_KINDS)
        .default('prefork'),
    )
    .option(
      '-c, --concurrency <n>',
      'tasks run at once: child processes, threads, or async slots',
      positiveInt,
      os.availableParallelism(),
    )
    .option('--prefetch-multiplier <m>', 'messages reserved ahead per concurrency slot', positiveInt, 4)
    .option('--max-tasks-per-child <k>', 'replace a pool process after it ran this many tasks', positiveInt)
    .option(
      '--max-memory-per-child <mb>',
      'replace a pool process once its resident memory passes this many MB (threads: heap used)',
      positiveInt,
    )
    .option('--time-limit <seconds>', 'hard time limit for tasks that set none', positiveNumber)
    .option('--soft-time-limit <seconds>', 'soft time limit for tasks that set none', positiveNumber)
    .option('-E, --task-events', 'send task events (monitors and the console need them)', false)
    .option('-B, --beat', "also run beat in this process (the app's beatSchedule), for development", false)
    .option(
      '-n, --hostname <name>',
      'node name; %h is the host name, %n its first label, %d its domain',
      DEFAULT_NODENAME,
    )
    .addOption(logLevelOption())
    .option(
      '--broker <url>',
      'broker URL; exported as LOVAGE_BROKER_URL before the tasks module loads, which must use it',
      brokerUrl,
    )
    .option(
      '--result-backend <url>',
      'result backend URL; exported as LOVAGE_RESULT_BACKEND before the tasks module loads, which must use it',
      backendUrl,
    )
    .addOption(metricsPortOption())
    .addOption(metricsHostOption())
    .action((opts: WorkerCommandOptions, cmd: Command) => {
      const pinned = [
        'pool',
        'concurrency',
        'prefetchMultiplier',
        'maxTasksPerChild',
        'maxMemoryPerChild',
        'timeLimit',
        'softTimeLimit',
      ].filter((k) => cmd.getOptionValueSource(k) === 'cli');
      return runWorker({ ...opts, pinned });
    });

  program
    .command('beat')
    .description(
      "Send the app's periodic tasks (beatSchedule). Run several: one sends, the others stand by (a leader lease).",
    )
    .requiredOption('-A, --app <module>', 'tasks module exporting the app (its beatSchedule)')
    .option(
      '--lease-ttl <seconds>',
      'seconds the leader lease lasts unless renewed: how soon a standby takes over from a beat that died',
      positiveNumber,
      10,
    )
    .addOption(logLevelOption())
    .option(
      '--broker <url>',
      'broker URL; exported as LOVAGE_BROKER_URL before the tasks module loads, which must use it',
      brokerUrl,
    )
    .action((opts: BeatCommandOptions) => runBeat(opts));

  const target = (cmd: Command) =>
    cmd
      .option('-A, --app <module>', "tasks module whose app's broker to use")
      .option(
        '-b, --broker <url>',
        'broker URL (default: LOVAGE_BROKER_URL, else redis://127.0.0.1:6379/0)',
        brokerUrl,
      )
      .option('--key-prefix <prefix>', "the broker's global key prefix, with --broker", '')
      .option(
        '--state <url>',
        "Redis of Lovage's records, with --broker (default: LOVAGE_STATE_URL, else the broker's Redis, else the result backend's)",
        stateUrl,
      );
  const remote = (cmd: Command) =>
    target(cmd)
      .option('-d, --destination <names>', 'comma-separated node names (default: every worker)', nameList)
      .option('-t, --timeout <seconds>', 'how long to wait for replies', positiveNumber, 1)
      .option('-j, --json', 'print the replies as JSON', false);

  remote(
    program
      .command('inspect')
      .description('Ask workers (Lovage or Celery) what they are doing.')
      .argument('<method>', INSPECT_METHODS.join(' | '), (v: string) => {
        if (!(INSPECT_METHODS as readonly string[]).includes(v)) {
          throw new InvalidArgumentError(`expected one of ${INSPECT_METHODS.join(', ')}`);
        }
        return v;
      })
      .argument('[args...]', 'task ids for query_task'),
  ).action((method: InspectMethod, args: string[], opts) => runInspect(method, args, opts));

  remote(
    program
      .command('control')
      .description('Change running workers (Lovage or Celery).')
      .argument('<method>', CONTROL_METHODS.join(' | '), (v: string) => {
        if (!(CONTROL_METHODS as readonly string[]).includes(v)) {
          throw new InvalidArgumentError(`expected one of ${CONTROL_METHODS.join(', ')}`);
        }
        return v;
      })
      .argument(
        '[args...]',
        "the command's arguments, e.g. `revoke <id>`, `rate_limit <task> 10/m`, `pool_grow 2`",
      )
      .option('--terminate', 'revoke: also stop the task if it is running', false)
      .option('--signal <name>', 'revoke --terminate: the signal Celery workers send', 'SIGTERM'),
  ).action((method: ControlMethod, args: string[], opts) => runControl(method, args, opts));

  target(
    program
      .command('monitor')
      .description("Fold the workers' events into the task-state index in Redis that the console reads.")
      .option('--max-tasks <n>', 'tasks kept in the index', positiveInt, 1_000_000)
      .option('--max-age <seconds>', 'seconds a task is kept in the index', positiveInt, 7 * 86_400)
      .option(
        '--result-backend <url>',
        "result backend to repair the index from after lost events (default: the app's, else LOVAGE_RESULT_BACKEND)",
        backendUrl,
      )
      .addOption(logLevelOption())
      .addOption(metricsPortOption())
      .addOption(metricsHostOption()),
  ).action((opts) => runMonitor(opts));

  target(
    program
      .command('purge')
      .description('Delete every waiting message of queues (asks first).')
      .option('-Q, --queues <queues>', "comma-separated queues (default: the app's default queue)", queueList)
      .option('-f, --force', 'do not ask for confirmation', false),
  ).action((opts) => runPurge(opts));

  return program;
}

/** Runtime errors that say what is wrong out there; by code, not instanceof (tsx may load a second copy). */
const OPERATIONAL_CODES = new Set(['BROKER_UNAVAILABLE', 'BROKER_PUBLISH_FAILED', 'CONFIG_INVALID']);

function isOperational(err: unknown): err is Error {
  return err instanceof Error && OPERATIONAL_CODES.has(String((err as { code?: unknown }).code));
}

export async function main(argv: string[]): Promise<void> {
  if (argv.length === 0) fail("missing command (try 'lovage --help')");
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version exit 0; every other commander error has already been printed by outputError.
      process.exit(err.exitCode === 0 ? 0 : 2);
    }
    if (err instanceof UsageError) fail(err.message);
    if (isOperational(err)) {
      // The command was right but the world was not (Redis down): what and where, without a stack.
      process.stderr.write(`lovage: error: ${oneLine(err.message)}\n`);
      process.exit(1);
    }
    process.stderr.write(
      `lovage: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  }
}

await main(process.argv.slice(2));
