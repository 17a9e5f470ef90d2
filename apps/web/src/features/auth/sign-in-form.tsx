'use client';
import { useRouter, useSearchParams } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { Alert, Button, Field, Input } from '@/components/ui';
import { authClient } from './auth-client';

export function SignInForm() {
  const router = useRouter();
  const next = useSearchParams().get('next');
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setPending(true);
    setError(null);
    const res = await authClient.signIn.email({
      email: String(f.get('email') ?? ''),
      password: String(f.get('password') ?? ''),
    });
    setPending(false);
    if (res.error) {
      setError(
        res.error.status === 429
          ? 'Too many sign-in attempts. Wait a minute and try again.'
          : res.error.status === 401
            ? 'Wrong e-mail or password.'
            : (res.error.message ?? 'Could not sign in.'),
      );
      return;
    }
    router.replace(isLocalPath(next) ? next : '/tasks');
    router.refresh();
  }

  return (
    <form onSubmit={onSubmit} aria-label="Sign in" className="space-y-4">
      <Field id="email" label="E-mail">
        <Input id="email" name="email" type="email" autoComplete="username" required autoFocus />
      </Field>
      <Field id="password" label="Password">
        <Input id="password" name="password" type="password" autoComplete="current-password" required />
      </Field>
      {error && <Alert tone="error">{error}</Alert>}
      <Button type="submit" disabled={pending} className="w-full">
        {pending ? 'Signing in…' : 'Sign in'}
      </Button>
    </form>
  );
}

/** Only paths on this site: `//host` and `/\\host` would leave it. */
function isLocalPath(path: string | null): path is string {
  return !!path && path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\');
}
