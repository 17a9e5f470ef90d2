import { redirect } from 'next/navigation';
import { Suspense } from 'react';
import { SignInForm } from '@/features/auth/sign-in-form';
import { currentUser } from '@/server/auth/session';

export const metadata = { title: 'Sign in · Lovage' };

export default async function SignInPage() {
  if (await currentUser()) redirect('/tasks');
  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <div className="w-full max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <h1 className="mb-1 text-xl font-semibold">Sign in to Lovage</h1>
        <p className="mb-4 text-sm text-slate-500">Accounts are created by an admin.</p>
        <Suspense>
          <SignInForm />
        </Suspense>
      </div>
    </main>
  );
}
