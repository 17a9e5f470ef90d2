import 'server-only';
import { EventEmitter, on } from 'node:events';
import type { App, BroadcastOptions, InspectMethod, TaskChange, WorkerRecord } from '@lovage/runtime';
import { createApp, StateError, type SettingsStore, type TaskIndex } from '../runtime';

export type { TaskChange };

/**
 * With Redis down, a page should say so within a second or two, not after ioredis' half a minute of
 * reconnects (per request, and the browser retries twice): one reconnect attempt, then the error.
 */
const FAIL_FAST = 1;
/** How long a live-updates subscription may take to reach Redis. */
const SUBSCRIBE_TIMEOUT_MS = 3000;

/**
 * The console's connections to the queue: a client app (sending retries, revoking, remote control), and
 * from its state store (`LOVAGE_STATE_URL`, else the broker's Redis) the monitor's task-state index, the
 * settings store, the queue registry and the dead letters, all under the key prefix. Redis being down
 * does not stop the console from starting: these connect lazily and calls fail with a clear error.
 */
export class LovageClients {
  readonly app: App;
  readonly taskIndex: TaskIndex;
  readonly settings: SettingsStore;
  private readonly changes = new EventEmitter();
  private unsubscribe: Promise<() => Promise<void>> | null = null;
  private pending: TaskChange | null = null;
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(options: {
    brokerUrl: string;
    resultBackendUrl: string;
    /** The state store's URL; undefined: the app's default (the broker's Redis). */
    stateUrl?: string;
    keyPrefix: string;
  }) {
    this.app = createApp({
      broker: options.brokerUrl,
      backend: options.resultBackendUrl,
      state: options.stateUrl,
      brokerTransportOptions: { globalKeyprefix: options.keyPrefix, maxRetriesPerRequest: FAIL_FAST },
      // A retry sent from here is in the index (PENDING, under its parent) before a worker takes it.
      taskSendSentEvent: true,
    });
    // On the state store, under the prefix and failing fast like the app's own connections.
    this.taskIndex = this.app.state.taskIndex();
    this.settings = this.app.state.settings;
    this.changes.setMaxListeners(0);
  }

  /**
   * Remote-control options for a command to every worker: wait a second at most, and no longer than it
   * takes as many workers to answer as the index believes alive. Pass the index's records if already read.
   */
  async everyWorker(records?: WorkerRecord[]): Promise<BroadcastOptions> {
    const alive = (records ?? (await this.taskIndex.workers())).filter((w) => w.alive).length;
    return { timeout: 1, ...(alive > 0 ? { limit: alive } : {}) };
  }

  /** `inspect` of every worker, waiting as `everyWorker` says; no replies at all when the broker fails. */
  async inspectEveryWorker(
    method: InspectMethod,
    records?: WorkerRecord[],
  ): Promise<Record<string, unknown>> {
    const opts = await this.everyWorker(records);
    return this.app.control.inspect(method, opts).catch(() => ({}));
  }

  /**
   * Task-index changes, coalesced to at most four a second. One index subscription per process feeds
   * every open tab, so live updates cost Redis nothing per viewer.
   */
  async *watch(signal: AbortSignal): AsyncGenerator<TaskChange> {
    // A tab must not show "Live" while Redis is down: no subscription within a few seconds is an error
    // (the tab says "Not live" and tries again).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StateError(
              `live updates need Redis at ${this.app.state.displayUrl}: no answer within ${SUBSCRIBE_TIMEOUT_MS / 1000} s`,
            ),
          ),
        SUBSCRIBE_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([this.ensureSubscribed(), late]);
    } finally {
      clearTimeout(timer);
    }
    try {
      for await (const [change] of on(this.changes, 'change', { signal })) yield change as TaskChange;
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      if (this.changes.listenerCount('change') === 0) this.stopSubscription();
    }
  }

  private async ensureSubscribed(): Promise<void> {
    this.unsubscribe ??= this.taskIndex.subscribe(({ ids, workers }) => {
      const p = (this.pending ??= { ids: [], workers: [] });
      p.ids.push(...ids);
      p.workers.push(...workers);
      this.flushTimer ??= setTimeout(() => this.flush(), 250);
    });
    try {
      await this.unsubscribe;
    } catch (err) {
      this.unsubscribe = null;
      throw err;
    }
  }

  private flush(): void {
    this.flushTimer = null;
    const p = this.pending;
    this.pending = null;
    if (p) this.changes.emit('change', { ids: [...new Set(p.ids)], workers: [...new Set(p.workers)] });
  }

  private stopSubscription(): void {
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = null;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.pending = null;
    void unsubscribe?.then((stop) => stop()).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.stopSubscription();
    // The app closes its state store, and with it the settings store.
    await Promise.allSettled([this.app.close(), this.taskIndex.close()]);
  }
}
