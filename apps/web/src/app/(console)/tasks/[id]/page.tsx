import { TaskDetailView } from '@/features/tasks/task-detail-view';

export const metadata = { title: 'Task · Lovage' };

export default async function TaskPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <TaskDetailView id={decodeURIComponent(id)} />;
}
