'use client';
import { useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useEffect, useRef } from 'react';
import { useTRPC } from '@/trpc/react';

/**
 * Live updates: the server pushes which tasks and workers changed (SSE); this refetches the task queries
 * on screen at most once a second. `onlyIds` limits it to changes of those tasks (a detail page).
 */
export function useLiveTasks(onlyIds?: string[]) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const sub = useSubscription(
    trpc.tasks.onChange.subscriptionOptions(undefined, {
      onData: (change) => {
        if (onlyIds && !change.ids.some((id) => onlyIds.includes(id))) return;
        timer.current ??= setTimeout(() => {
          timer.current = null;
          void queryClient.invalidateQueries({ queryKey: trpc.tasks.pathKey() });
        }, 1000);
      },
    }),
  );
  useRetryWhenFailed(sub);
  // @trpc/tanstack-react-query reports "pending" while connected and receiving.
  return { live: sub.status === 'pending', error: sub.error?.message ?? null };
}

/** After a failed subscription (Redis down, say) try again every few seconds, so "Not live" heals. */
function useRetryWhenFailed(sub: { status: string; reset: () => void }) {
  const { status, reset } = sub;
  useEffect(() => {
    if (status !== 'error') return;
    const timer = setTimeout(reset, RETRY_MS);
    return () => clearTimeout(timer);
  }, [status, reset]);
}

const RETRY_MS = 5000;

export function LiveBadge({ live, error }: { live: boolean; error: string | null }) {
  return (
    <span
      role="status"
      aria-label={live ? 'Live updates on' : 'Live updates off'}
      title={error ?? undefined}
      className="inline-flex items-center gap-1 text-xs text-slate-600"
    >
      <span className={`h-2 w-2 rounded-full ${live ? 'bg-emerald-500' : 'bg-slate-400'}`} />
      {live ? 'Live' : 'Not live'}
    </span>
  );
}

/** Live worker updates: refetches the workers (index + `stats`) when the monitor saw them, at most every 5 s. */
export function useLiveWorkers() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const sub = useSubscription(
    trpc.tasks.onChange.subscriptionOptions(undefined, {
      onData: (change) => {
        if (change.workers.length === 0) return;
        timer.current ??= setTimeout(() => {
          timer.current = null;
          void queryClient.invalidateQueries({ queryKey: trpc.workers.pathKey() });
        }, 5000);
      },
    }),
  );
  useRetryWhenFailed(sub);
  return { live: sub.status === 'pending', error: sub.error?.message ?? null };
}
