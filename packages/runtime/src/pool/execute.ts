/**
 * Runs one task function and turns whatever happens into a JobOutcome: the return value encoded as JSON
 * (or an EncodeError naming the bad value), a retry request with its time, or a failure with Celery's
 * exception dict. Pools call this where the function lives (event loop, thread or child process).
 */
import { serializeException } from '../protocol/exceptions';
import {
  MaxRetriesExceededError,
  RetryRequested,
  SoftTimeLimitExceeded,
  TaskRevokedError,
  TimeLimitExceeded,
} from '../errors';
import { encodeJson } from '../protocol/json';
import { argsRepr, kwargsRepr } from '../protocol/repr';
import type { HookName, HookArgs, Hooks } from '../hooks';
import { backoffDelay } from '../task/retry';
import { matchesError, type RetryOptions, type TaskContext, type TaskDefinition } from '../task/task';
import type { Job, JobOutcome } from './pool';

function traceback(err: unknown): string | null {
  return err instanceof Error && err.stack ? err.stack : null;
}

function failure(err: unknown, started: number): JobOutcome {
  const noTrace = err instanceof TimeLimitExceeded;
  return {
    kind: 'failure',
    exc: serializeException(err),
    traceback: noTrace ? null : traceback(err),
    runtime: (performance.now() - started) / 1000,
  };
}

/**
 * Decides what a retry request becomes: a new attempt at `eta`, or the final failure once `maxRetries` is
 * used up (the given exception, or MaxRetriesExceededError), as Celery's Task.retry does.
 */
function retryOutcome(
  def: TaskDefinition,
  job: Job,
  r: RetryRequested,
  maxRetries: number | null,
  started: number,
): JobOutcome {
  const req = job.request;
  if (maxRetries !== null && req.retries >= maxRetries) {
    const exc =
      r.exc ??
      new MaxRetriesExceededError(
        `Can't retry ${def.name}[${req.id}] args:${argsRepr(req.args)} kwargs:${kwargsRepr(req.kwargs)}`,
      );
    return failure(exc, started);
  }
  const eta = r.eta ? r.eta.getTime() : Date.now() + (r.countdown ?? def.options.defaultRetryDelay) * 1000;
  return {
    kind: 'retry',
    eta,
    exc: r.exc === undefined || r.exc === null ? null : serializeException(r.exc),
    traceback: traceback(r.exc),
    runtime: (performance.now() - started) / 1000,
  };
}

export interface Execution {
  outcome: Promise<JobOutcome>;
  /** Aborts the task's signal with the given reason (terminate, hard limit). */
  abort(reason: Error): void;
}

export interface ExecuteOptions {
  /** The app's hooks: taskPrerun, taskPostrun, taskFailure and taskRetry run around the task. */
  hooks?: Hooks;
  /** A task hook threw: reported here, the task's outcome stays as it was. */
  onHookError?: (hook: HookName, err: unknown) => void;
}

export function executeTask(taskDef: TaskDefinition, job: Job, options: ExecuteOptions = {}): Execution {
  const def: TaskDefinition = job.overrides
    ? Object.assign({}, taskDef, { options: Object.assign({}, taskDef.options, job.overrides) })
    : taskDef;
  const controller = new AbortController();
  const req = job.request;
  const started = performance.now();
  let maxRetries = def.options.maxRetries;
  const ctx: TaskContext = {
    id: req.id,
    name: req.name,
    retries: req.retries,
    kwargs: req.kwargs,
    rootId: req.rootId,
    parentId: req.parentId,
    hostname: job.hostname,
    request: req,
    redelivered: req.redelivered,
    deliveryCount: req.deliveryCount,
    signal: controller.signal,
    retry(opts: RetryOptions = {}): never {
      if (opts.maxRetries !== undefined) maxRetries = opts.maxRetries;
      throw new RetryRequested({
        countdown: opts.countdown ?? null,
        eta: opts.eta ?? null,
        exc: opts.exc ?? null,
        message: `Retry in ${opts.countdown ?? def.options.defaultRetryDelay}s`,
      });
    },
  };

  const timers: NodeJS.Timeout[] = [];
  let settleEarly!: (o: JobOutcome) => void;
  const early = new Promise<JobOutcome>((resolve) => {
    settleEarly = resolve;
  });
  if (job.softTimeLimit) {
    const soft = job.softTimeLimit;
    timers.push(setTimeout(() => controller.abort(new SoftTimeLimitExceeded(soft)), soft * 1000));
  }
  if (job.timeLimit) {
    const hard = job.timeLimit;
    // On the event loop a hard limit cannot kill: the task fails now and is abandoned (its signal fires).
    timers.push(
      setTimeout(() => {
        const err = new TimeLimitExceeded(hard);
        controller.abort(err);
        settleEarly(failure(err, started));
      }, hard * 1000),
    );
  }

  const { hooks } = options;
  const hook = async <K extends HookName>(name: K, args: HookArgs[K]): Promise<void> => {
    if (!hooks?.has(name)) return;
    try {
      await hooks.run(name, args);
    } catch (err) {
      options.onHookError?.(name, err);
    }
  };
  const base = { taskId: req.id, task: def.name, args: req.args, kwargs: req.kwargs, request: req };
  let retval: unknown;

  const attempt = async (): Promise<JobOutcome> => {
    try {
      const value = await def.fn(ctx, ...req.args);
      retval = value;
      const resultJson = encodeJson(value === undefined ? null : value, 'result');
      return { kind: 'success', resultJson, runtime: (performance.now() - started) / 1000 };
    } catch (err) {
      retval = err instanceof RetryRequested ? (err.exc ?? err) : err;
      if (err instanceof RetryRequested) return retryOutcome(def, job, err, maxRetries, started);
      if (controller.signal.aborted && controller.signal.reason instanceof Error) {
        // A task that gave up because its signal fired ends with the signal's reason (soft limit, revoke).
        const reason = controller.signal.reason;
        if (err === reason || (err instanceof Error && err.name === 'AbortError'))
          return failure(reason, started);
      }
      if (def.options.autoretryFor.length > 0 && matchesError(err, def.options.autoretryFor)) {
        const countdown = def.options.retryBackoff
          ? backoffDelay(req.retries, {
              retryBackoff: def.options.retryBackoff,
              retryBackoffMax: def.options.retryBackoffMax,
              retryJitter: def.options.retryJitter,
            })
          : def.options.defaultRetryDelay;
        const r = new RetryRequested({ countdown, eta: null, exc: err, message: `Retry in ${countdown}s` });
        return retryOutcome(def, job, r, maxRetries, started);
      }
      retval = err;
      return failure(err, started);
    }
  };

  const run = (async (): Promise<JobOutcome> => {
    await hook('taskPrerun', base);
    const outcome = await attempt();
    if (outcome.kind === 'failure') {
      await hook('taskFailure', { ...base, error: retval, traceback: outcome.traceback });
    } else if (outcome.kind === 'retry') {
      await hook('taskRetry', { ...base, reason: retval, eta: new Date(outcome.eta) });
    }
    const state =
      outcome.kind === 'success'
        ? 'SUCCESS'
        : outcome.kind === 'retry'
          ? 'RETRY'
          : outcome.exc.exc_type === 'TaskRevokedError'
            ? 'REVOKED'
            : 'FAILURE';
    await hook('taskPostrun', { ...base, state, retval });
    return outcome;
  })();

  const outcome = Promise.race([run, early]).finally(() => timers.forEach(clearTimeout));
  return {
    outcome,
    abort(reason: Error) {
      controller.abort(reason);
      if (reason instanceof TaskRevokedError) settleEarly(failure(reason, started));
    },
  };
}
