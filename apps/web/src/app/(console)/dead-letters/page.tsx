import { DeadLettersView } from '@/features/dead-letters/dead-letters-view';

export const metadata = { title: 'Dead letters · Lovage' };

export default function DeadLettersPage() {
  return <DeadLettersView />;
}
