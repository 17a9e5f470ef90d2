'use client';
import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { DataTable } from '@/components/data-table';
import { Time } from '@/components/time';
import { Alert, Badge, Button, Card, Field, Input, PageHeader, Select } from '@/components/ui';
import { ROLE_DESCRIPTIONS, ROLES, type Role } from '@/server/auth/roles';
import { createUserInput, type CreateUserInput } from '@/server/routers/users/create-user.schema';
import { errorMessage, fieldIssues, useTRPC } from '@/trpc/react';
import { useSessionUser } from '../auth/session-context';

type Outcome = { tone: 'success' | 'error'; text: string } | null;

interface UserRow {
  id: string;
  email: string;
  name: string;
  role: string;
  createdAt: string;
  /** When an admin disabled the account; null while it may sign in. */
  disabledAt: string | null;
}

function CreateUserForm({ onOutcome }: { onOutcome: (o: Outcome) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const form = useForm<CreateUserInput>({
    resolver: zodResolver(createUserInput),
    defaultValues: { email: '', name: '', role: 'viewer', password: '' },
  });
  const create = useMutation(
    trpc.users.create.mutationOptions({
      onSuccess: (u) => {
        onOutcome({ tone: 'success', text: `Created ${u.email} (${u.role}).` });
        form.reset();
        void queryClient.invalidateQueries({ queryKey: trpc.users.find.queryKey() });
      },
      onError: (e) => {
        for (const i of fieldIssues(e))
          form.setError(i.path[0] as keyof CreateUserInput, { message: i.message });
        onOutcome({ tone: 'error', text: `Not created: ${errorMessage(e)}` });
      },
    }),
  );
  const e = form.formState.errors;
  return (
    <form
      noValidate
      aria-label="Create user"
      onSubmit={form.handleSubmit((v) => create.mutate(v))}
      className="grid gap-3 md:grid-cols-5"
    >
      <Field id="new-email" label="E-mail" error={e.email?.message}>
        <Input
          id="new-email"
          type="email"
          autoComplete="off"
          aria-invalid={!!e.email}
          {...form.register('email')}
        />
      </Field>
      <Field id="new-name" label="Name" error={e.name?.message}>
        <Input id="new-name" autoComplete="off" aria-invalid={!!e.name} {...form.register('name')} />
      </Field>
      <Field id="new-role" label="Role" error={e.role?.message}>
        <Select id="new-role" {...form.register('role')}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </Select>
      </Field>
      <Field id="new-password" label="Password (12+ characters)" error={e.password?.message}>
        <Input
          id="new-password"
          type="password"
          autoComplete="new-password"
          aria-invalid={!!e.password}
          {...form.register('password')}
        />
      </Field>
      <div className="flex items-end">
        <Button type="submit" disabled={create.isPending}>
          Create user
        </Button>
      </div>
    </form>
  );
}

function RoleCell({ user, onOutcome }: { user: UserRow; onOutcome: (o: Outcome) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [role, setRole] = useState(user.role as Role);
  const update = useMutation(
    trpc.users.updateRole.mutationOptions({
      onSuccess: (u) => onOutcome({ tone: 'success', text: `${u.email} is now ${u.role}.` }),
      onError: (e) => {
        setRole(user.role as Role);
        onOutcome({ tone: 'error', text: errorMessage(e) });
      },
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.users.find.queryKey() }),
    }),
  );
  return (
    <div className="flex items-center gap-1">
      <Select
        value={role}
        onChange={(e) => setRole(e.target.value as Role)}
        aria-label={`Role of ${user.email}`}
        className="w-32"
      >
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </Select>
      <Button
        variant="secondary"
        disabled={role === user.role || update.isPending}
        aria-label={`Save role of ${user.email}`}
        onClick={() => update.mutate({ userId: user.id, role })}
      >
        Save role
      </Button>
    </div>
  );
}

function PasswordCell({ user, onOutcome }: { user: UserRow; onOutcome: (o: Outcome) => void }) {
  const trpc = useTRPC();
  const [password, setPassword] = useState('');
  const set = useMutation(
    trpc.users.setPassword.mutationOptions({
      onSuccess: (r) => {
        setPassword('');
        onOutcome({
          tone: 'success',
          text: `New password set for ${user.email}; ${r.sessionsEnded} session(s) ended.`,
        });
      },
      onError: (e) => onOutcome({ tone: 'error', text: errorMessage(e) }),
    }),
  );
  return (
    <div className="flex items-center gap-1">
      <Input
        type="password"
        autoComplete="new-password"
        value={password}
        placeholder="new password"
        onChange={(e) => setPassword(e.target.value)}
        aria-label={`New password for ${user.email}`}
        className="w-40"
      />
      <Button
        variant="secondary"
        disabled={password.length === 0 || set.isPending}
        aria-label={`Set password of ${user.email}`}
        onClick={() => set.mutate({ userId: user.id, password })}
      >
        Set password
      </Button>
    </div>
  );
}

function AccessCell({
  user,
  isMe,
  onOutcome,
}: {
  user: UserRow;
  isMe: boolean;
  onOutcome: (o: Outcome) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const set = useMutation(
    trpc.users.setDisabled.mutationOptions({
      onSuccess: (u) =>
        onOutcome({
          tone: 'success',
          text: u.disabledAt
            ? `${u.email} is disabled; their sessions ended.`
            : `${u.email} can sign in again.`,
        }),
      onError: (e) => onOutcome({ tone: 'error', text: errorMessage(e) }),
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.users.find.queryKey() }),
    }),
  );
  const disabled = user.disabledAt !== null;
  return (
    <div className="flex items-center gap-2">
      {disabled ? <Badge tone="red">disabled</Badge> : <Badge tone="green">enabled</Badge>}
      {!isMe && (
        <Button
          variant={disabled ? 'secondary' : 'danger'}
          disabled={set.isPending}
          aria-label={`${disabled ? 'Enable' : 'Disable'} ${user.email}`}
          onClick={() => {
            if (disabled || window.confirm(`Disable ${user.email}? Their sessions end at once.`)) {
              set.mutate({ userId: user.id, disabled: !disabled });
            }
          }}
        >
          {disabled ? 'Enable' : 'Disable'}
        </Button>
      )}
    </div>
  );
}

export function UsersView() {
  const trpc = useTRPC();
  const me = useSessionUser();
  const users = useQuery(trpc.users.find.queryOptions());
  const [outcome, setOutcome] = useState<Outcome>(null);
  const columns: ColumnDef<UserRow, unknown>[] = [
    {
      header: 'User',
      cell: ({ row }) => (
        <div>
          <div className="font-medium">
            {row.original.name}{' '}
            {row.original.id === me.id && <span className="text-xs text-slate-500">(you)</span>}
          </div>
          <div className="text-xs text-slate-500">{row.original.email}</div>
        </div>
      ),
    },
    { header: 'Role', cell: ({ row }) => <RoleCell user={row.original} onOutcome={setOutcome} /> },
    { header: 'Password', cell: ({ row }) => <PasswordCell user={row.original} onOutcome={setOutcome} /> },
    {
      header: 'Access',
      cell: ({ row }) => (
        <AccessCell user={row.original} isMe={row.original.id === me.id} onOutcome={setOutcome} />
      ),
    },
    { header: 'Created', cell: ({ row }) => <Time value={row.original.createdAt} /> },
  ];
  return (
    <div className="space-y-4">
      <PageHeader title="Users" />
      <ul className="text-sm text-slate-600">
        {ROLES.map((r) => (
          <li key={r}>
            <strong>{r}</strong>: {ROLE_DESCRIPTIONS[r]}
          </li>
        ))}
      </ul>
      {outcome && <Alert tone={outcome.tone}>{outcome.text}</Alert>}
      <Card title="Create a user">
        <CreateUserForm onOutcome={setOutcome} />
      </Card>
      <DataTable
        label="Users"
        columns={columns}
        data={users.data}
        isLoading={users.isLoading}
        error={users.error ? errorMessage(users.error) : null}
        rowKey={(u) => u.id}
      />
    </div>
  );
}
