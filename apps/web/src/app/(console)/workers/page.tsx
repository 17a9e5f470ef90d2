import { WorkersView } from '@/features/workers/workers-view';

export const metadata = { title: 'Workers · Lovage' };

export default function WorkersPage() {
  return <WorkersView />;
}
