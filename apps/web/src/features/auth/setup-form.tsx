'use client';
import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { Alert, Button, Field, Input, errorAria } from '@/components/ui';
import {
  createFirstAdminInput,
  type CreateFirstAdminInput,
} from '@/server/routers/setup/create-first-admin.schema';
import { errorMessage, useTRPC } from '@/trpc/react';
import { authClient } from './auth-client';

export function SetupForm({ token }: { token: string }) {
  const trpc = useTRPC();
  const status = useQuery(trpc.setup.status.queryOptions({ token }));
  const form = useForm<CreateFirstAdminInput>({
    resolver: zodResolver(createFirstAdminInput),
    defaultValues: { token, email: '', name: '', password: '' },
  });
  const router = useRouter();
  const [signInFailed, setSignInFailed] = useState(false);
  // The admin is created, then signed in with what was just typed; if that fails, the success message
  // below links to the sign-in page instead.
  const create = useMutation(
    trpc.setup.createAdmin.mutationOptions({
      onSuccess: async (_admin, input) => {
        const signedIn = await authClient.signIn.email({ email: input.email, password: input.password });
        if (signedIn.error) return setSignInFailed(true);
        router.replace('/tasks');
        router.refresh();
      },
    }),
  );
  const e = form.formState.errors;

  if (create.isSuccess) {
    return (
      <Alert tone="success">
        Admin {create.data.email} created. {signInFailed ? '' : 'Opening the console… '}
        <Link className="underline" href="/sign-in">
          Sign in
        </Link>
      </Alert>
    );
  }
  if (status.data?.state === 'done') {
    return (
      <Alert tone="info">
        The console has users already.{' '}
        <Link className="underline" href="/sign-in">
          Sign in
        </Link>
      </Alert>
    );
  }
  if (status.data?.state === 'invalid') {
    return (
      <Alert tone="error">
        This setup link is used, expired or wrong. Restart the console for a new one.
      </Alert>
    );
  }
  return (
    <form
      noValidate
      aria-label="Create the first admin"
      onSubmit={form.handleSubmit((v) => create.mutate(v))}
      className="space-y-4"
    >
      <Field id="email" label="E-mail" error={e.email?.message}>
        <Input
          id="email"
          type="email"
          autoComplete="username"
          {...errorAria('email', e.email)}
          {...form.register('email')}
        />
      </Field>
      <Field id="name" label="Name" error={e.name?.message}>
        <Input id="name" {...errorAria('name', e.name)} {...form.register('name')} />
      </Field>
      <Field id="password" label="Password (12+ characters)" error={e.password?.message}>
        <Input
          id="password"
          type="password"
          autoComplete="new-password"
          {...errorAria('password', e.password)}
          {...form.register('password')}
        />
      </Field>
      {create.error && <Alert tone="error">{errorMessage(create.error)}</Alert>}
      <Button type="submit" disabled={create.isPending} className="w-full">
        Create admin
      </Button>
    </form>
  );
}
