'use client';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { plural } from '@/components/plural';
import { formatTime } from '@/components/time';
import { Card, Select } from '@/components/ui';
import {
  ACTIVITY_RANGES,
  ACTIVITY_STATES,
  type FindTaskActivityInput,
} from '@/server/routers/tasks/find-task-activity.schema';
import { errorMessage, useTRPC } from '@/trpc/react';

const COLORS: Record<(typeof ACTIVITY_STATES)[number], string> = {
  SUCCESS: '#059669',
  FAILURE: '#dc2626',
  REVOKED: '#64748b',
};
const RANGE_LABELS: Record<(typeof ACTIVITY_RANGES)[number], string> = {
  60: 'Last hour',
  360: 'Last 6 hours',
  1440: 'Last 24 hours',
};

/** The axis's `HH:mm`: the console's time format (time.tsx), cut to the minute. */
const clock = (ms: number) => formatTime(ms).slice(11, 16);

/**
 * Tasks finished per bucket (succeeded, failed, revoked), stacked, of the tasks the list's name, worker and
 * queue filters select; refreshed with the live task updates.
 */
export function ActivityChart({
  filter,
}: {
  filter: Pick<FindTaskActivityInput, 'name' | 'worker' | 'queue'>;
}) {
  const trpc = useTRPC();
  const [minutes, setMinutes] = useState<(typeof ACTIVITY_RANGES)[number]>(60);
  const activity = useQuery({
    ...trpc.tasks.activity.queryOptions({ minutes, ...filter }),
    placeholderData: (prev) => prev,
  });
  const buckets = activity.data?.buckets ?? [];
  const data = buckets.map((b) => ({ at: b.at, ...b.counts }));
  const total = buckets.reduce((n, b) => n + ACTIVITY_STATES.reduce((m, s) => m + (b.counts[s] ?? 0), 0), 0);
  const bucketMin = (activity.data?.bucketMs ?? 60_000) / 60_000;
  const per = bucketMin === 1 ? 'minute' : `${bucketMin} minutes`;
  const narrowed = [filter.name, filter.worker, filter.queue].filter(Boolean).join(', ');
  return (
    <Card
      title={`Finished tasks${narrowed ? ` (${narrowed})` : ''}, per ${per}`}
      actions={
        <div className="w-40">
          <Select
            aria-label="Activity range"
            value={minutes}
            onChange={(e) => setMinutes(Number(e.target.value) as (typeof ACTIVITY_RANGES)[number])}
          >
            {ACTIVITY_RANGES.map((m) => (
              <option key={m} value={m}>
                {RANGE_LABELS[m]}
              </option>
            ))}
          </Select>
        </div>
      }
    >
      {activity.error ? (
        <p className="text-sm text-red-700">{errorMessage(activity.error)}</p>
      ) : (
        <div
          className="h-40"
          role="img"
          aria-label={`${plural(total, 'task')} finished in the ${RANGE_LABELS[minutes].toLowerCase()}`}
        >
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: -16 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="at" tickFormatter={clock} minTickGap={24} fontSize={11} />
              <YAxis allowDecimals={false} fontSize={11} />
              <Tooltip labelFormatter={(v) => formatTime(Number(v))} />
              <Legend wrapperStyle={{ fontSize: 12 }} />
              {ACTIVITY_STATES.map((s) => (
                <Bar key={s} dataKey={s} stackId="finished" fill={COLORS[s]} isAnimationActive={false} />
              ))}
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
    </Card>
  );
}
