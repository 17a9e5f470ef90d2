'use client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
  type TRPCLink,
} from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { useState, type ReactNode } from 'react';
import type { AppRouter } from '@/server/routers/app-router';
import { describeIssues } from './zod-messages';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        refetchOnWindowFocus: false,
        // Retrying a refusal (sign-in needed, forbidden, bad input) never helps, nor does retrying "Redis is
        // not reachable" (503: the server already tried) other than by the page's own refresh.
        retry: (count, err) => {
          const status = err instanceof TRPCClientError ? err.data?.httpStatus : undefined;
          return !(status && (status < 500 || status === 503)) && count < 2;
        },
      },
    },
  });
}

/** The sign-in page, coming back to this page afterwards (as the server's own redirect does). */
function goToSignIn() {
  const { pathname, search } = window.location;
  if (pathname === '/sign-in') return;
  const here = `${pathname}${search}`;
  window.location.assign(here === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(here)}`);
}

/**
 * Any query, mutation or live stream answered UNAUTHORIZED (signed out elsewhere, session expired, the
 * account disabled) sends the tab to sign-in instead of leaving it showing errors.
 */
const signInWhenUnauthorized: TRPCLink<AppRouter> =
  () =>
  ({ next, op }) =>
    observable((observer) =>
      next(op).subscribe({
        next: (value) => observer.next(value),
        error: (err) => {
          if (err.data?.code === 'UNAUTHORIZED') goToSignIn();
          observer.error(err);
        },
        complete: () => observer.complete(),
      }),
    );

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        signInWhenUnauthorized,
        splitLink({
          condition: (op) => op.type === 'subscription',
          // Live updates: one SSE stream per tab, fed by the server's single index subscription.
          true: httpSubscriptionLink({ url: '/api/trpc' }),
          false: httpBatchLink({ url: '/api/trpc' }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}

/** Field messages a BAD_REQUEST carries (path -> message), for forms. */
export function fieldIssues(err: unknown): { path: string[]; message: string }[] {
  if (!(err instanceof TRPCClientError)) return [];
  const issues = (err.data as { issues?: { path: string[]; message: string }[] } | undefined)?.issues;
  return issues ?? [];
}

/** A message fit for an alert. */
export function errorMessage(err: unknown): string {
  if (err instanceof TRPCClientError) {
    const issues = fieldIssues(err);
    if (issues.length) return describeIssues(issues);
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
