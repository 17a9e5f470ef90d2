import { z } from 'zod';

export const PER_PAGE_CHOICES = [10, 25, 50, 100] as const;

/** Page numbers start at 1. */
export const paginationInput = {
  page: z.number().int().min(1).default(1),
  perPage: z.number().int().min(1).max(100).default(25),
};

/** Epoch milliseconds, for time-range filters. */
export const epochMs = z.number().int().min(0);

export type SearchParamsLike = { get(name: string): string | null };

/** Lenient readers for URL search params: a bad value falls back to "absent" rather than erroring. */
export const fromParams = {
  string(params: SearchParamsLike, name: string): string | undefined {
    const v = params.get(name)?.trim();
    return v ? v : undefined;
  },
  int(params: SearchParamsLike, name: string, min: number, max: number): number | undefined {
    const n = Number(params.get(name));
    return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
  },
  /** A time as typed into datetime-local (local time) or epoch ms, as epoch ms. */
  time(params: SearchParamsLike, name: string): number | undefined {
    const v = params.get(name)?.trim();
    if (!v) return undefined;
    const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  },
  oneOf<T extends string>(params: SearchParamsLike, name: string, choices: readonly T[]): T | undefined {
    const v = params.get(name);
    return v !== null && (choices as readonly string[]).includes(v) ? (v as T) : undefined;
  },
};
