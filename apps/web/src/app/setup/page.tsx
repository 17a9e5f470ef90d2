import { connection } from 'next/server';
import { SetupForm } from '@/features/auth/setup-form';

export const metadata = { title: 'Set up · Lovage' };

export default async function SetupPage({ searchParams }: { searchParams: Promise<{ token?: string }> }) {
  await connection();
  const { token } = await searchParams;
  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <div className="w-full max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <h1 className="mb-1 text-xl font-semibold">Create the first admin</h1>
        <p className="mb-4 text-sm text-slate-500">This one-time link was printed by the console on start.</p>
        {token ? <SetupForm token={token} /> : <p className="text-sm text-red-700">The link has no token.</p>}
      </div>
    </main>
  );
}
