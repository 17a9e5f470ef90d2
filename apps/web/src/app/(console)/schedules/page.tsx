import { SchedulesView } from '@/features/schedules/schedules-view';

export const metadata = { title: 'Schedules · Lovage' };

export default function SchedulesPage() {
  return <SchedulesView />;
}
