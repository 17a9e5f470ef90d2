/**
 * The console's own HTTP API, for seeding and for checks the page cannot show: better-auth's sign-in and
 * tRPC procedures (no transformer: inputs and results are plain JSON), with the session cookie and the
 * console's Origin, as the browser sends them.
 */
import { randomInt } from 'node:crypto';
import { request, type APIRequestContext } from '@playwright/test';

/**
 * A made-up client address for a seeded sign-in. better-auth limits sign-in attempts per client IP (5 a
 * minute); the stack's console trusts 127.0.0.1 as a proxy, so this header gives every seeded sign-in its own
 * bucket and the browser's attempts in the sign-in journey keep theirs.
 */
export function seedClientIp(): string {
  return `10.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(1, 255)}`;
}

export interface TrpcFailure {
  status: number;
  code: string | undefined;
  message: string | undefined;
  issues: { path: string[]; message: string }[];
}

export class ConsoleApi {
  private constructor(readonly ctx: APIRequestContext) {}

  /** Signs in through better-auth's endpoint (not the form) and keeps the session cookie. */
  static async signIn(baseURL: string, email: string, password: string): Promise<ConsoleApi> {
    const ctx = await request.newContext({ baseURL, extraHTTPHeaders: { origin: baseURL } });
    const res = await ctx.post('/api/auth/sign-in/email', {
      data: { email, password },
      headers: { 'x-forwarded-for': seedClientIp() },
    });
    if (!res.ok()) {
      const body = await res.text();
      await ctx.dispose();
      throw new Error(`seeding: sign-in of ${email} answered ${res.status()}: ${body}`);
    }
    return new ConsoleApi(ctx);
  }

  /** An API client on an existing session (a storage state file). */
  static async fromState(baseURL: string, storageState: string): Promise<ConsoleApi> {
    return new ConsoleApi(
      await request.newContext({ baseURL, storageState, extraHTTPHeaders: { origin: baseURL } }),
    );
  }

  async query<T>(procedure: string, input?: unknown): Promise<T> {
    const qs = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    const res = await this.ctx.get(`/api/trpc/${procedure}${qs}`);
    const body = (await res.json()) as { result?: { data: T }; error?: unknown };
    if (!res.ok() || !body.result) {
      throw new Error(`${procedure} answered ${res.status()}: ${JSON.stringify(body.error ?? body)}`);
    }
    return body.result.data;
  }

  /** A mutation that must succeed. */
  async mutation<T>(procedure: string, input: unknown): Promise<T> {
    const out = await this.tryMutation<T>(procedure, input);
    if (!out.ok) throw new Error(`${procedure} failed: ${JSON.stringify(out.error)}`);
    return out.data;
  }

  /** A mutation that may be refused: the refusal's status, code, message and field issues. */
  async tryMutation<T>(
    procedure: string,
    input: unknown,
  ): Promise<{ ok: true; data: T } | { ok: false; error: TrpcFailure }> {
    const res = await this.ctx.post(`/api/trpc/${procedure}`, { data: input });
    const body = (await res.json()) as {
      result?: { data: T };
      error?: { message?: string; data?: { code?: string; issues?: TrpcFailure['issues'] } };
    };
    if (res.ok() && body.result) return { ok: true, data: body.result.data };
    return {
      ok: false,
      error: {
        status: res.status(),
        code: body.error?.data?.code,
        message: body.error?.message,
        issues: body.error?.data?.issues ?? [],
      },
    };
  }

  async saveState(path: string): Promise<void> {
    await this.ctx.storageState({ path });
  }

  dispose(): Promise<void> {
    return this.ctx.dispose();
  }
}

/** A task's state in the console's index, or null while the monitor has not recorded it. */
export async function indexedState(api: ConsoleApi, id: string): Promise<string | null> {
  try {
    return (await api.query<{ state: string }>('tasks.get', { id })).state;
  } catch {
    return null;
  }
}
