import { QueuesView } from '@/features/queues/queues-view';

export const metadata = { title: 'Queues · Lovage' };

export default function QueuesPage() {
  return <QueuesView />;
}
