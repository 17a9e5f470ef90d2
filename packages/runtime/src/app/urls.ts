/**
 * The one rule for connection URLs: which schemes each role (broker, result backend, state store)
 * accepts. The app's config, the console's and the worker's environment and the CLI's flags all check URLs
 * here, so a new transport is added in one place. Imports zod only: safe for env modules and the browser.
 */
import { z } from 'zod';

export type UrlRole = 'broker' | 'backend' | 'state';

/** Schemes each role accepts, without `://`. */
export const URL_SCHEMES = {
  /** kombu's spellings of RabbitMQ included: `pyamqp://` is `amqp://` over py-amqp. */
  broker: ['redis', 'rediss', 'amqp', 'amqps', 'pyamqp'],
  backend: ['redis', 'rediss'],
  /** The state store: Lovage's records (revoked ids, queues, dead letters, settings, the task index). */
  state: ['redis', 'rediss'],
} as const satisfies Record<UrlRole, readonly string[]>;

export type BrokerScheme = (typeof URL_SCHEMES.broker)[number];
export type BackendScheme = (typeof URL_SCHEMES.backend)[number];
export type StateScheme = (typeof URL_SCHEMES.state)[number];

/** The scheme of a URL the role accepts, lower-cased (callers have checked it with `checkUrl`). */
export function schemeOf(url: string): string {
  return (/^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1] ?? '').toLowerCase();
}

/** `a redis:// or rediss:// URL` */
function expected(role: UrlRole): string {
  const schemes = URL_SCHEMES[role].map((s) => `${s}://`);
  return `a ${schemes.length > 1 ? `${schemes.slice(0, -1).join(', ')} or ${schemes.at(-1)}` : schemes[0]} URL`;
}

/** Null when `value` is a URL the role accepts, else what is wrong with it. */
export function checkUrl(role: UrlRole, value: string): string | null {
  const scheme = schemeOf(value);
  if ((URL_SCHEMES[role] as readonly string[]).includes(scheme)) return null;
  return `${role} must be ${expected(role)}${scheme ? ` (${scheme}:// is not supported)` : ''}`;
}

/** A zod string that only takes a URL the role accepts. */
export function urlSchema(role: UrlRole) {
  return z.string().superRefine((value, ctx) => {
    const problem = checkUrl(role, value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}
