import { Alert } from '@/components/ui';
import { UsersView } from '@/features/users/users-view';
import { requireUser } from '@/server/auth/session';

export const metadata = { title: 'Users · Lovage' };

export default async function UsersPage() {
  const user = await requireUser();
  if (user.role !== 'admin') return <Alert tone="error">Managing users needs the admin role.</Alert>;
  return <UsersView />;
}
