/**
 * The `lovage` command line (started by bin/lovage.mjs, which registers tsx first).
 *
 *   lovage worker -A ./tasks.ts [-Q q1,q2] [-c N] [--prefetch-multiplier M] [-n name@%h] [-l info]
 *                 [--broker URL] [--result-backend URL]
 *
 * Usage errors (bad flags, a missing or broken tasks module, no app in it) print one `lovage: error: …` line
 * on stderr and exit with code 2; commander's own errors are routed through the same format.
 */
import os from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { oneLine, UsageError } from './errors';
import { DEFAULT_NODENAME } from './hostname';
import { LOG_LEVELS, type LogLevelName } from './logger';
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

function redisUrl(value: string): string {
  if (!/^rediss?:\/\//.test(value)) throw new InvalidArgumentError('expected a redis:// or rediss:// URL');
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
    .option('-c, --concurrency <n>', 'tasks run at once', positiveInt, os.availableParallelism())
    .option('--prefetch-multiplier <m>', 'messages reserved ahead per concurrency slot', positiveInt, 4)
    .option(
      '-n, --hostname <name>',
      'node name; %h is the host name, %n its first label, %d its domain',
      DEFAULT_NODENAME,
    )
    .addOption(
      new Option('-l, --loglevel <level>', `log level: ${Object.keys(LOG_LEVELS).join(', ')}`)
        .argParser(logLevel)
        .default('info'),
    )
    .option(
      '--broker <url>',
      'broker URL; exported as LOVAGE_BROKER_URL before the tasks module loads, which must use it',
      redisUrl,
    )
    .option(
      '--result-backend <url>',
      'result backend URL; exported as LOVAGE_RESULT_BACKEND before the tasks module loads, which must use it',
      redisUrl,
    )
    .action((opts: WorkerCommandOptions) => runWorker(opts));

  return program;
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
    process.stderr.write(
      `lovage: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  }
}

await main(process.argv.slice(2));
