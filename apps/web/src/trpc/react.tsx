'use client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
} from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { useState, type ReactNode } from 'react';
import type { AppRouter } from '@/server/routers/app-router';

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

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
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
    if (issues.length) return issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
