/**
 * One supervised AMQP connection. amqplib's recovering connection reconnects with exponential backoff and
 * jitter; this wraps it with what the broker needs on top: amqplib loaded (and its header decoder replaced)
 * only when an AMQP URL is used, a generation number that changes with every new connection (so a delivery
 * from before a reconnect is never acknowledged on the next one), waiting for the link with a deadline, and
 * the connection's blocked state (a RabbitMQ memory or disk alarm).
 */
import type { ChannelModel, Options, RecoveringChannelModel } from 'amqplib';
import { BrokerError } from '../../errors';
import { installAmqplibHeaderDecoder } from './amqplib-patch';

/** Kombu's URL forms: `amqp://`, `amqps://` and `pyamqp://`; `//` or no path is the vhost `/`. */
export function connectOptions(url: string, heartbeat: number): Options.Connect {
  const u = new URL(url.replace(/^pyamqp:/i, 'amqp:'));
  const tls = u.protocol.toLowerCase() === 'amqps:';
  const path = u.pathname.startsWith('/') ? u.pathname.slice(1) : u.pathname;
  const vhost = path === '' || path === '/' ? '/' : decodeURIComponent(path);
  return {
    protocol: tls ? 'amqps' : 'amqp',
    hostname: u.hostname || 'localhost',
    port: u.port ? Number(u.port) : tls ? 5671 : 5672,
    username: u.username ? decodeURIComponent(u.username) : 'guest',
    password: u.password ? decodeURIComponent(u.password) : 'guest',
    vhost,
    heartbeat,
  };
}

type Listener = (model: ChannelModel) => void;

export class AmqpLink {
  private model: RecoveringChannelModel | null = null;
  private starting: Promise<RecoveringChannelModel> | null = null;
  private current: ChannelModel | null = null;
  private waiters: (() => void)[] = [];
  private readonly connectListeners = new Set<Listener>();
  private readonly disconnectListeners = new Set<(err: Error) => void>();
  private closed = false;
  /** Changes with every new connection. */
  generation = 0;
  lastError: Error | null = null;
  /** Why RabbitMQ blocks this connection's publishers (a resource alarm), or null. */
  blocked: string | null = null;
  private readonly unblockWaiters = new Set<() => void>();

  constructor(
    private readonly url: string,
    readonly displayUrl: string,
    private readonly name: string,
    private readonly heartbeat: number,
  ) {}

  /** Called on each new connection (the first included), to open channels and declare again. */
  onConnect(listener: Listener): () => void {
    this.connectListeners.add(listener);
    if (this.current) listener(this.current);
    return () => this.connectListeners.delete(listener);
  }

  onDisconnect(listener: (err: Error) => void): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  private start(): Promise<RecoveringChannelModel> {
    this.starting ??= (async () => {
      const amqp = await import('amqplib');
      installAmqplibHeaderDecoder();
      const model = await amqp.connect(connectOptions(this.url, this.heartbeat), {
        clientProperties: { connection_name: this.name, product: 'lovage' },
        recovery: { initialDelay: 100, maxDelay: 5000, waitForConnect: false },
      });
      model.on('connect', (m: ChannelModel) => {
        this.generation++;
        this.current = m;
        this.lastError = null;
        this.blocked = null;
        for (const l of this.connectListeners) l(m);
        const waiters = this.waiters.splice(0);
        for (const w of waiters) w();
      });
      model.on('disconnect', (err: Error) => {
        this.current = null;
        this.lastError = err;
        for (const l of this.disconnectListeners) l(err);
      });
      model.on('connect-failed', (err: Error) => (this.lastError = err));
      model.on('reconnect-scheduled', (info: { error: Error }) => (this.lastError = info.error));
      model.on('error', (err: Error) => (this.lastError = err));
      model.on('blocked', (reason: string) => (this.blocked = reason || 'resource alarm'));
      model.on('unblocked', () => {
        this.blocked = null;
        for (const w of this.unblockWaiters) w();
        this.unblockWaiters.clear();
      });
      this.model = model;
      return model;
    })();
    return this.starting;
  }

  /** The live connection, waiting up to `timeoutMs` for one; rejects with a BrokerError saying why not. */
  async ready(timeoutMs: number): Promise<ChannelModel> {
    if (this.closed) throw new BrokerError(`the broker connection to ${this.displayUrl} is closed`);
    if (this.current) return this.current;
    await this.start();
    if (this.current) return this.current;
    let timer: NodeJS.Timeout | undefined;
    let waiter: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        waiter = resolve;
        this.waiters.push(resolve);
        timer = setTimeout(() => reject(this.unreachable()), timeoutMs);
      });
    } finally {
      clearTimeout(timer);
      this.waiters = this.waiters.filter((w) => w !== waiter);
    }
    if (!this.current) throw this.unreachable();
    return this.current;
  }

  unreachable(): BrokerError {
    const why = this.lastError ? ` (${this.lastError.message})` : '';
    return new BrokerError(
      `cannot reach the broker at ${this.displayUrl}${why}: is RabbitMQ running there?`,
      {
        cause: this.lastError ?? undefined,
      },
    );
  }

  /** Resolves when RabbitMQ stops blocking publishers, false after `timeoutMs`. */
  waitUnblocked(timeoutMs: number): Promise<boolean> {
    if (!this.blocked) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.unblockWaiters.delete(done);
        resolve(false);
      }, timeoutMs);
      this.unblockWaiters.add(done);
    });
  }

  get connected(): boolean {
    return this.current !== null;
  }

  async close(): Promise<void> {
    this.closed = true;
    const model = this.model ?? (this.starting ? await this.starting.catch(() => null) : null);
    this.current = null;
    await model?.close().catch(() => undefined);
  }
}
