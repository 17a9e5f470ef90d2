import { Suspense } from 'react';
import { AuditView } from '@/features/audit/audit-view';

export const metadata = { title: 'Audit log · Lovage' };

export default function AuditPage() {
  return (
    <Suspense>
      <AuditView />
    </Suspense>
  );
}
