/**
 * Beat: sends the app's periodic tasks (`beatSchedule`), with exactly one sender among any number of beats.
 *
 * Every beat tries to take or renew one leader lease in the state store; only the holder sends. Before each
 * send the holder claims the run: one atomic step in the state store checks that it still holds the lease
 * and that the entry's timing is the one it read, and records the run (last run, next due time). A beat
 * whose lease ran out (paused, cut off from Redis) is refused there, so it cannot send a run twice. Runs
 * that fell due while no beat ran follow `beatMissedRuns`: one run on recovery (`once`) or none (`skip`),
 * never a burst. Times are this process's clock: the leader alone decides, so beats on other hosts only
 * need clocks close enough for the lease (seconds).
 *
 * Besides the app's entries, beat runs those defined in the console, which it finds in the state store:
 * at start it publishes its own there (so the console can show them), and at each tick the leader reads a
 * change counter and, when it moved, reloads the entries and the disabled names. A console change thus
 * reaches the running beat within a tick (a third of the lease, ~3.3 s by default), without a restart.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import type { App } from '../app/app';
import { closestKey } from '../app/suggest';
import { ConfigError } from '../errors';
import type { Logger } from '../logging';
import type { BeatEntryState, BeatStore } from '../state/state';
import {
  beatDefinitionSchema,
  definitionOf,
  definitionSchedule,
  nextDue,
  scheduleKey,
  type BeatDefinition,
  type Schedule,
} from './schedule';

export interface BeatOptions {
  logger?: Logger;
  /**
   * Seconds the leader lease lasts unless renewed (10). A beat that stops without releasing it (SIGKILL)
   * is replaced by another after at most this long; it is renewed every third of it.
   */
  leaseTtl?: number;
  /** Names this beat in logs and as its lease token's prefix (`beat<pid>@<host>`). */
  name?: string;
}

export interface BeatEvents {
  /**
   * A run was sent: the entry, the task id, the time it was due (epoch ms) and how many due times after it
   * passed while no beat sent (the run stands for them too, `beatMissedRuns: 'once'`). It is in the entry's
   * run history too.
   */
  sent: [{ entry: string; taskId: string; due: number; missed: number }];
  /** This beat took the lease (true) or lost it (false). */
  leader: [boolean];
  /** The entries were (re)loaded from the state store: the names beat now runs (enabled ones). */
  loaded: [string[]];
}

interface Planned {
  name: string;
  entry: BeatDefinition;
  schedule: Schedule;
  key: string;
}

/** The planned timing of an entry `state` (null: none stored, or for another schedule) at `now`. */
export function plan(
  schedule: Schedule,
  state: BeatEntryState | null,
  now: number,
  missedRuns: 'once' | 'skip',
): { send: boolean; missed: number; next: BeatEntryState } | null {
  const key = scheduleKey(schedule);
  if (!state || state.schedule !== key) {
    // First sight of this schedule: as Celery, an interval runs one interval from now, a cron at its next match.
    return {
      send: false,
      missed: 0,
      next: { schedule: key, last: state?.last ?? null, next: nextDue(schedule, now) },
    };
  }
  if (now < state.next) return null;
  // Due: the next due time after now, on an interval's grid from the stored due time.
  const next = nextDue(schedule, now, state.next);
  // Due times passed besides the one at state.next: a beat was down (or the leader changed) meanwhile.
  let missed = 0;
  for (let t = nextDue(schedule, state.next, state.next); t <= now && missed < 1000;) {
    missed++;
    t = nextDue(schedule, t, state.next);
  }
  const send = missedRuns === 'once' || missed === 0;
  return { send, missed, next: { schedule: key, last: send ? now : state.last, next } };
}

export class Beat extends EventEmitter<BeatEvents> {
  readonly token: string;
  private readonly logger: Logger;
  private readonly leaseMs: number;
  private readonly store: BeatStore;
  /** The app's own entries (`beatSchedule`), as the store keeps them. */
  private readonly code: Record<string, BeatDefinition>;
  /** What this beat runs: code and console entries, less the disabled ones. */
  private entries: Planned[] = [];
  /** The store's change counter when the entries were last loaded (-1: never). */
  private version = -1;
  private leader = false;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = true;
  /** Each entry's next due time as last read, to wake at the earliest. */
  private readonly dueAt = new Map<string, number>();

  constructor(
    readonly app: App,
    options: BeatOptions = {},
  ) {
    super();
    this.logger = (options.logger ?? app.logger).child({ component: 'beat' });
    this.leaseMs = (options.leaseTtl ?? 10) * 1000;
    if (!(this.leaseMs > 0)) throw new ConfigError('beat: leaseTtl must be more than 0 seconds');
    this.token = `${options.name ?? `beat${process.pid}@${os.hostname()}`}:${randomUUID()}`;
    this.store = app.state.beat;
    this.code = Object.fromEntries(
      Object.entries(app.config.beatSchedule).map(([name, e]) => [
        name,
        definitionOf(e, app.config.timezone),
      ]),
    );
    this.checkTasks();
  }

  /** Whether this beat holds the lease (as of its last tick). */
  get isLeader(): boolean {
    return this.leader;
  }

  /** Starts ticking; resolves after the first tick (so a state store that cannot be reached fails here). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.logger.info({ entries: Object.keys(this.code), token: this.token }, 'beat starting');
    await this.app.state.ping();
    await this.store.publishCode(this.code, {
      defaultQueue: this.app.config.defaultQueue,
      tasks: Object.fromEntries([...this.app.tasks].map(([name, def]) => [name, def.options.queue])),
    });
    this.run();
    await this.ticking;
  }

  /** Stops ticking and releases the lease, so another beat takes over at once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
    if (this.leader) {
      this.leader = false;
      await this.store.release(this.token).catch((err: unknown) => {
        this.logger.warn({ err }, 'could not release the beat lease; it expires by itself');
      });
      this.emit('leader', false);
    }
    this.logger.info('beat stopped');
  }

  /** Refuses a task name that looks like a typo of a registered one; others may run on other workers. */
  private checkTasks(): void {
    if (this.app.tasks.size === 0) return;
    const known = [...this.app.tasks.keys()];
    for (const [name, entry] of Object.entries(this.code)) {
      if (this.app.tasks.has(entry.task)) continue;
      const guess = closestKey(entry.task, known);
      if (guess) {
        throw new ConfigError(
          `invalid app config at beatSchedule.${name}.task: unknown task ${entry.task} (did you mean ${guess}?)`,
        );
      }
      this.logger.warn(
        { entry: name, task: entry.task },
        'beat entry names a task not registered in this app; it is sent for another worker to run',
      );
    }
  }

  private run(): void {
    this.ticking = this.tick()
      .catch((err: unknown) => {
        // The store or the broker unreachable: keep trying; the lease lapses meanwhile if it must.
        this.logger.error({ err }, 'beat tick failed');
      })
      .finally(() => {
        if (!this.stopped) this.timer = setTimeout(() => this.run(), this.delay());
      });
  }

  /** Until the earliest due time, but at least every third of the lease (to renew or to take it). */
  private delay(): number {
    const renew = this.leaseMs / 3;
    if (!this.leader) return renew;
    const earliest = Math.min(...this.dueAt.values());
    return Math.max(5, Math.min(renew, earliest - Date.now()));
  }

  private async tick(): Promise<void> {
    const leader = await this.store.lease(this.token, this.leaseMs);
    if (leader !== this.leader) {
      this.leader = leader;
      this.logger.info(leader ? 'beat took the lease: sending' : 'beat lost the lease: standing by');
      this.emit('leader', leader);
    }
    if (!leader) return;
    const version = await this.store.version();
    if (version !== this.version) await this.load(version);
    for (const planned of this.entries) {
      if (this.stopped) return;
      if (!(await this.runEntry(planned))) return;
    }
  }

  /**
   * Reads the entries from the store: the app's own (from its config, whatever the store says) and the
   * console's, less the disabled ones. A console entry that no longer validates is skipped with an error.
   */
  private async load(version: number): Promise<void> {
    const [stored, disabled] = await Promise.all([this.store.definitions(), this.store.disabled()]);
    const off = new Set(disabled);
    const definitions: [string, BeatDefinition][] = Object.entries(this.code);
    for (const [name, { source, definition }] of Object.entries(stored)) {
      if (source !== 'console' || name in this.code) continue;
      const parsed = beatDefinitionSchema.safeParse(definition);
      if (parsed.success) definitions.push([name, parsed.data]);
      else
        this.logger.error({ entry: name, err: parsed.error }, 'console schedule entry is invalid: skipped');
    }
    this.entries = definitions
      .filter(([name]) => !off.has(name))
      .map(([name, entry]) => {
        const schedule = definitionSchedule(entry);
        return { name, entry, schedule, key: scheduleKey(schedule) };
      });
    this.version = version;
    // Removed and disabled entries must not wake beat up.
    this.dueAt.clear();
    const names = this.entries.map((e) => e.name);
    this.logger.info(
      { entries: this.entries.map((e) => `${e.name}: ${e.key}`), version },
      'beat entries loaded',
    );
    this.emit('loaded', names);
  }

  /** Claims and sends an entry's run if it is due. False when the lease turned out lost. */
  private async runEntry({ name, entry, schedule }: Planned): Promise<boolean> {
    const state = await this.store.read(name);
    const now = Date.now();
    const step = plan(schedule, state, now, this.app.config.beatMissedRuns);
    if (!step) {
      this.dueAt.set(name, state!.next);
      return true;
    }
    const outcome = await this.store.claim(this.token, name, state, step.next);
    if (outcome === 'not-leader') {
      this.leader = false;
      this.logger.warn({ entry: name }, 'beat lost the lease before sending: standing by');
      this.emit('leader', false);
      return false;
    }
    if (outcome === 'changed') return true; // another beat moved it; read again next tick
    this.dueAt.set(name, step.next.next);
    if (step.missed > 0) {
      this.logger.warn(
        { entry: name, missed: step.missed, policy: this.app.config.beatMissedRuns },
        step.send
          ? 'runs were missed while no beat ran: sending one'
          : 'runs were missed while no beat ran: skipped',
      );
    }
    if (!step.send) return true;
    const due = state!.next;
    try {
      const result = await this.app.sendTask(entry.task, entry.args, entry.kwargs, entry.options);
      this.logger.info(
        { entry: name, task: entry.task, taskId: result.id, due, missed: step.missed },
        'beat sent a run',
      );
      this.emit('sent', { entry: name, taskId: result.id, due, missed: step.missed });
      await this.store
        .record(name, { taskId: result.id, due, sent: Date.now(), by: 'beat', missed: step.missed })
        .catch((err: unknown) =>
          this.logger.warn({ err, entry: name }, 'could not record the run in its history'),
        );
    } catch (err) {
      // Claimed but not sent: this run is lost (at most once; a second send could duplicate it).
      this.logger.error({ err, entry: name, due }, 'beat could not send a run');
    }
    return true;
  }
}
