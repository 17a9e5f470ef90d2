import { randomBytes } from 'node:crypto';
import type { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvError, readEnv } from '../src/env';
import { createAuth, type Auth, type AuthOptions } from '../src/server/auth/auth';
import { bootstrapFirstAdmin } from '../src/server/auth/bootstrap';
import { CLIENT_ADDRESS_HEADER } from '../src/server/auth/client-address';
import { DB_KINDS, ORIGIN, startHarness, type Harness, type TestUser } from './support/harness';
import { rejects } from './support/rejects';

describe.each(DB_KINDS)('sign-in, sessions and roles (%s)', (kind) => {
  let h: Harness;
  let admin: TestUser;
  let operator: TestUser;
  let viewer: TestUser;

  beforeAll(async () => {
    h = await startHarness(kind, { signInPerMinute: 3, failuresPerAccount: 5 });
  });
  afterAll(() => h?.close());

  /** A second better-auth on the harness's database, with other limits or proxies. */
  const authWith = (options: Partial<AuthOptions>) =>
    createAuth({
      prisma: h.services.prisma,
      secret: randomBytes(32).toString('hex'),
      baseURL: ORIGIN,
      trustedOrigins: [ORIGIN],
      trustedProxies: [],
      ...options,
    });
  const signInWith = (auth: Auth, email: string, password: string, headers: Record<string, string>) =>
    auth.handler(
      new Request(`${ORIGIN}/api/auth/sign-in/email`, {
        method: 'POST',
        headers: { origin: ORIGIN, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ email, password }),
      }),
    );

  // First, while the database has no user at all.
  it('prints a one-time setup link when no user exists, and redeems it once', async () => {
    const boot = await bootstrapFirstAdmin(h.services);
    expect(boot.kind).toBe('setup-link');
    const token = new URL((boot as { url: string }).url).searchParams.get('token')!;
    const anon = await h.callerFor(null);
    const input = { token, email: 'First@Example.test', name: 'First', password: 'long-enough-pw' };
    expect(await anon.setup.status({ token })).toEqual({ state: 'open' });
    await rejects(anon.setup.createAdmin({ ...input, token: 'wrong' }), 'FORBIDDEN');
    await rejects(
      (await h.callerFor(null, { origin: 'https://evil.example' })).setup.createAdmin(input),
      'FORBIDDEN',
    );
    await anon.setup.createAdmin(input);
    const first = await h.services.prisma.user.findUnique({ where: { email: 'first@example.test' } });
    expect(first?.role).toBe('admin');
    await rejects(anon.setup.createAdmin({ ...input, email: 'second@example.test' }), 'FORBIDDEN');
    expect(await anon.setup.status({ token })).toEqual({ state: 'done' });
    const caller = await h.callerFor({
      id: first!.id,
      email: 'first@example.test',
      password: 'long-enough-pw',
      role: 'admin',
    });
    expect((await caller.me.get()).role).toBe('admin');
    expect((await bootstrapFirstAdmin(h.services)).kind).toBe('ready');
    [admin, operator, viewer] = await Promise.all([
      h.createUser('admin'),
      h.createUser('operator'),
      h.createUser('viewer'),
    ]);
  });

  it('signs in with the right password and sets an HTTP-only, SameSite session cookie', async () => {
    const res = await h.signInResponse(viewer.email, viewer.password, { ip: '10.9.0.1' });
    expect(res.status).toBe(200);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('lovage.session_token='));
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const me = await (await h.callerFor(viewer)).me.get();
    expect(me).toMatchObject({ email: viewer.email, role: 'viewer' });
  });

  it('refuses a wrong password and an unknown e-mail alike', async () => {
    const wrong = await h.signInResponse(viewer.email, 'not-the-password', { ip: '10.9.0.2' });
    const unknown = await h.signInResponse('nobody@example.test', 'whatever-password', { ip: '10.9.0.2' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.headers.getSetCookie()).toEqual([]);
  });

  it('rate-limits sign-in attempts per client', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await h.signInResponse(viewer.email, 'wrong-password-x', { ip: '10.9.0.3' })).status);
    }
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    // Even the right password is refused while limited; another client is not affected.
    expect((await h.signInResponse(viewer.email, viewer.password, { ip: '10.9.0.3' })).status).toBe(429);
    expect((await h.signInResponse(viewer.email, viewer.password, { ip: '10.9.0.4' })).status).toBe(200);
  });

  it('keys the per-client limit on the TCP peer, whatever X-Forwarded-For the client wrote', async () => {
    // scripts/server.mjs appends the TCP peer, so a client that writes the header arrives as "<forged>, <peer>".
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const forged = { ip: `203.0.113.${i}, 10.9.3.1` };
      statuses.push((await h.signInResponse(`nobody-${i}@example.test`, 'wrong-password-x', forged)).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    // Another peer is another client; naming an address in Lovage's own header changes nothing either.
    expect(
      (await h.signInResponse(viewer.email, viewer.password, { ip: '203.0.113.9, 10.9.3.2' })).status,
    ).toBe(200);
    const spoofed = await signInWith(h.services.auth, viewer.email, viewer.password, {
      'x-forwarded-for': '10.9.3.1',
      [CLIENT_ADDRESS_HEADER]: '198.51.100.1',
    });
    expect(spoofed.status).toBe(429);
  });

  it('behind trusted proxies, keys the limit on the right-most address that is not a proxy', async () => {
    const auth = authWith({ trustedProxies: ['10.0.0.0/8', '192.0.2.1'], signInPerMinute: 3 });
    const attempt = async (forwardedFor: string) =>
      (
        await signInWith(auth, `sprayed-${randomBytes(3).toString('hex')}@example.test`, 'x'.repeat(12), {
          'x-forwarded-for': forwardedFor,
        })
      ).status;
    // The client 198.51.100.7, behind the proxies 10.0.0.2 and 192.0.2.1 (the peer); what it wrote first is ignored.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push(await attempt(`203.0.113.${i}, 198.51.100.7, 10.0.0.2, 192.0.2.1`));
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(await attempt('198.51.100.8, 10.0.0.2, 192.0.2.1')).toBe(401);
    // A peer that is not a trusted proxy is the client, whatever it forwarded.
    expect(await attempt('198.51.100.7, 198.51.100.9')).toBe(401);
  });

  it('locks an account, admins too, after repeated failures from anywhere, and lets it in when the window ends', async () => {
    const auth = authWith({ failuresPerAccount: 2, accountWindowSeconds: 1 });
    const target = await h.createUser('admin');
    const attempt = (password: string, ip: string) =>
      signInWith(auth, target.email, password, { 'x-forwarded-for': ip });
    expect((await attempt('guessed-password', '10.6.0.1')).status).toBe(401);
    expect((await attempt('guessed-password', '10.6.0.2')).status).toBe(401);
    const locked = await attempt(target.password, '10.6.0.3');
    expect(locked.status).toBe(429);
    expect(await locked.text()).toContain('Too many failed sign-ins for this account');
    // The trade-off (apps/web/README.md): the admin waits out the window; then the right password works.
    await expect
      .poll(async () => (await attempt(target.password, `10.6.1.${randomBytes(1)[0]}`)).status, {
        timeout: 10_000,
      })
      .toBe(200);
  });

  it('limits failed sign-ins per account, whatever address they claim to come from', async () => {
    const target = await h.createUser('viewer');
    const statuses: number[] = [];
    // A new X-Forwarded-For each time: the per-client limit never triggers, the per-account one does.
    for (let i = 0; i < 6; i++) {
      statuses.push((await h.signInResponse(target.email, 'guessed-password', { ip: `10.7.${i}.1` })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const blocked = await h.signInResponse(target.email, target.password, { ip: '10.7.9.1' });
    expect(blocked.status).toBe(429);
    expect(await blocked.text()).toContain('Too many failed sign-ins for this account');
    // Other accounts are not affected.
    expect((await h.signInResponse(viewer.email, viewer.password, { ip: '10.7.9.2' })).status).toBe(200);
  });

  it('refuses a sign-in from a foreign origin', async () => {
    const res = await h.signInResponse(viewer.email, viewer.password, {
      ip: '10.9.0.5',
      origin: 'https://evil.example',
    });
    expect(res.status).toBe(403);
  });

  it('refuses procedures without a session, or with a forged cookie', async () => {
    await rejects((await h.callerFor(null)).tasks.find({}), 'UNAUTHORIZED');
    await rejects((await h.callerFor(null)).me.get(), 'UNAUTHORIZED');
    const forged = await h.callerFor(null, { cookie: 'lovage.session_token=forged.value' });
    await rejects(forged.audit.find({}), 'UNAUTHORIZED');
    await rejects(
      forged.users.create({ email: 'x@example.test', name: 'x', role: 'admin', password: 'long-enough-pw' }),
      'UNAUTHORIZED',
    );
  });

  it('refuses mutations with a forged or missing Origin, even with a valid session', async () => {
    const cookie = await h.signIn(admin);
    const input = {
      email: 'csrf@example.test',
      name: 'csrf',
      role: 'admin' as const,
      password: 'long-enough-pw',
    };
    const evil = await h.callerFor(admin, { cookie, origin: 'https://evil.example' });
    const err = await rejects(evil.users.create(input), 'FORBIDDEN');
    expect(err.message).toContain('https://evil.example');
    await rejects((await h.callerFor(admin, { cookie, origin: null })).users.create(input), 'FORBIDDEN');
    await rejects((await h.callerFor(admin, { cookie, origin: 'null' })).users.create(input), 'FORBIDDEN');
    expect(await h.services.prisma.user.findUnique({ where: { email: input.email } })).toBeNull();
    // The same request from the console's own origin goes through.
    await (await h.callerFor(admin, { cookie, origin: ORIGIN })).users.create(input);
    expect(await h.services.prisma.user.findUnique({ where: { email: input.email } })).not.toBeNull();
  });

  it('enforces roles on the server', async () => {
    const asViewer = await h.callerFor(viewer);
    const asOperator = await h.callerFor(operator);
    await rejects(asViewer.tasks.retry({ id: 'some-task' }), 'FORBIDDEN');
    await rejects(asViewer.tasks.revoke({ id: 'some-task', terminate: true }), 'FORBIDDEN');
    await rejects(asViewer.workers.resizePool({ hostname: 'w1@h', direction: 'grow', n: 1 }), 'FORBIDDEN');
    await rejects(
      asOperator.settings.update({ expectedVersion: 0, settings: { concurrency: 4 } }),
      'FORBIDDEN',
    );
    await rejects(asOperator.users.find(), 'FORBIDDEN');
    await rejects(asOperator.users.updateRole({ userId: operator.id, role: 'admin' }), 'FORBIDDEN');
    expect(await h.services.lovage.settings.current()).toBeNull();
    expect((await h.services.prisma.user.findUnique({ where: { id: operator.id } }))?.role).toBe('operator');
    // Reads are open to every role.
    await expect(asViewer.audit.find({})).resolves.toMatchObject({ page: 1 });
    await expect(asViewer.settings.get()).resolves.toEqual({ current: null });
  });

  it('takes a role change into account at the next request', async () => {
    const user = await h.createUser('viewer');
    const cookie = await h.signIn(user);
    await rejects((await h.callerFor(user, { cookie })).tasks.revoke({ id: 'x' }), 'FORBIDDEN');
    await (
      await h.callerFor(admin)
    ).users.updateRole({ userId: user.id, role: 'operator', reason: 'on call' });
    const asOperator = await h.callerFor(user, { cookie });
    expect((await asOperator.me.get()).role).toBe('operator');
  });

  it('signs out: the cookie stops working', async () => {
    const cookie = await h.signIn(viewer);
    const out = await h.services.auth.handler(
      new Request(`${ORIGIN}/api/auth/sign-out`, {
        method: 'POST',
        headers: { cookie, origin: ORIGIN, 'content-type': 'application/json' },
        body: '{}',
      }),
    );
    expect(out.status).toBe(200);
    await rejects((await h.callerFor(null, { cookie })).me.get(), 'UNAUTHORIZED');
  });

  it('an admin disables a user: their sessions end and sign-in is refused; enabled again, they sign in', async () => {
    const user = await h.createUser('operator');
    const cookie = await h.signIn(user, '10.77.0.1');
    const admin = await h.createUser('admin');
    const a = await h.callerFor(admin);

    const res = await a.users.setDisabled({ userId: user.id, disabled: true, reason: 'left the team' });
    expect(res.disabledAt).not.toBeNull();
    await rejects((await h.callerFor(null, { cookie })).me.get(), 'UNAUTHORIZED');
    // The right password now gets a 403 that says why; a wrong one the usual 401, telling nothing.
    const refused = await h.signInResponse(user.email, user.password, { ip: '10.77.0.2' });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toBe(
      'This account is disabled. An admin can enable it again.',
    );
    expect((await h.signInResponse(user.email, 'wrong-password-x', { ip: '10.77.0.3' })).status).toBe(401);
    expect(await h.services.prisma.session.count({ where: { userId: user.id } })).toBe(0);
    expect((await a.users.find()).find((u) => u.id === user.id)?.disabledAt).toBe(res.disabledAt);

    await a.users.setDisabled({ userId: user.id, disabled: false });
    expect((await h.signInResponse(user.email, user.password, { ip: '10.77.0.4' })).status).toBe(200);
    const audit = await h.services.prisma.auditEntry.findMany({
      where: { target: user.email, action: { in: ['user.disable', 'user.enable'] } },
      orderBy: { id: 'asc' },
    });
    expect(audit.map((e) => [e.action, e.actorEmail, e.before, e.after, e.reason])).toEqual([
      ['user.disable', admin.email, { disabled: false }, { disabled: true }, 'left the team'],
      ['user.enable', admin.email, { disabled: true }, { disabled: false }, null],
    ]);
    expect(audit[0]!.detail).toEqual({ sessionsEnded: 1 });
  });

  it('nobody disables themselves; a disabled admin does not count as the admin who keeps the role', async () => {
    const admin = await h.createUser('admin');
    const a = await h.callerFor(admin);
    const self = await rejects(
      a.users.setDisabled({ userId: admin.id, disabled: true }),
      'PRECONDITION_FAILED',
    );
    expect(self.message).toBe('You cannot disable your own account.');
    // With every other admin disabled, this one is the last enabled admin: it cannot give up the role.
    const others = (await a.users.find()).filter(
      (u) => u.role === 'admin' && u.id !== admin.id && !u.disabledAt,
    );
    for (const o of others) await a.users.setDisabled({ userId: o.id, disabled: true });
    const demote = await rejects(
      a.users.updateRole({ userId: admin.id, role: 'viewer' }),
      'PRECONDITION_FAILED',
    );
    expect(demote.message).toBe('The last admin cannot lose the admin role.');
    // Two admins left, disabling each other at once: one wins, one enabled admin remains.
    const b = await h.createUser('admin');
    const asB = await h.callerFor(b);
    const results = await Promise.allSettled([
      a.users.setDisabled({ userId: b.id, disabled: true }),
      asB.users.setDisabled({ userId: admin.id, disabled: true }),
    ]);
    const lost = results.filter((r) => r.status === 'rejected');
    expect(lost.length).toBeGreaterThanOrEqual(1);
    for (const r of lost) {
      expect((r.reason as TRPCError).code).toMatch(/^(CONFLICT|PRECONDITION_FAILED)$/);
    }
    expect(
      await h.services.prisma.user.count({ where: { role: 'admin', disabledAt: null } }),
    ).toBeGreaterThanOrEqual(1);
    for (const u of [...others, b, admin]) {
      await h.services.prisma.user.update({ where: { id: u.id }, data: { disabledAt: null } });
    }
    const op = await h.createUser('operator');
    await rejects(
      (await h.callerFor(op)).users.setDisabled({ userId: viewer.id, disabled: true }),
      'FORBIDDEN',
    );
    await rejects(a.users.setDisabled({ userId: 'no-such-user', disabled: true }), 'NOT_FOUND');
  });

  it('has no public sign-up', async () => {
    const res = await h.services.auth.handler(
      new Request(`${ORIGIN}/api/auth/sign-up/email`, {
        method: 'POST',
        headers: { origin: ORIGIN, 'content-type': 'application/json', 'x-forwarded-for': '10.9.1.1' },
        body: JSON.stringify({
          email: 'self@example.test',
          password: 'long-enough-pw',
          name: 'self',
          role: 'admin',
        }),
      }),
    );
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await h.services.prisma.user.findUnique({ where: { email: 'self@example.test' } })).toBeNull();
  });
});

describe('LOVAGE_TRUSTED_PROXIES', () => {
  it('takes IP addresses and CIDR ranges, and names an entry that is neither', () => {
    const base = { LOVAGE_DATA_DIR: '/tmp/lovage-env-test' };
    expect(
      readEnv({ ...base, LOVAGE_TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.1,fd00::/8' }).trustedProxies,
    ).toEqual(['10.0.0.0/8', '192.0.2.1', 'fd00::/8']);
    expect(() =>
      readEnv({ ...base, LOVAGE_TRUSTED_PROXIES: '10.0.0.0/8,proxy.internal,10.0.0.0/33' }),
    ).toThrow(
      new EnvError(
        'invalid environment variable LOVAGE_TRUSTED_PROXIES: proxy.internal, 10.0.0.0/33 is not an IP address or CIDR range',
      ),
    );
  });
});

describe('LOVAGE_BROKER_URL and LOVAGE_RESULT_BACKEND', () => {
  it('take the URLs the runtime takes, and name the scheme that is not', () => {
    const base = { LOVAGE_DATA_DIR: '/tmp/lovage-env-test' };
    expect(readEnv({ ...base, LOVAGE_BROKER_URL: 'rediss://h:6380/2' }).brokerUrl).toBe('rediss://h:6380/2');
    expect(() => readEnv({ ...base, LOVAGE_BROKER_URL: 'http://h:6379' })).toThrow(
      new EnvError(
        'invalid environment variable LOVAGE_BROKER_URL: broker must be a redis://, rediss://, amqp://, amqps:// or pyamqp:// URL (http:// is not supported)',
      ),
    );
    expect(() => readEnv({ ...base, LOVAGE_RESULT_BACKEND: 'h:6379' })).toThrow(
      /LOVAGE_RESULT_BACKEND: backend must be a redis:\/\/ or rediss:\/\/ URL/,
    );
  });
});

describe('LOVAGE_STATE_URL', () => {
  it("is optional (the app then uses the broker's Redis) and takes only a URL a state store can live at", () => {
    const base = { LOVAGE_DATA_DIR: '/tmp/lovage-env-test' };
    expect(readEnv(base).stateUrl).toBeUndefined();
    expect(readEnv({ ...base, LOVAGE_STATE_URL: 'redis://state:6379/4' }).stateUrl).toBe(
      'redis://state:6379/4',
    );
    expect(() => readEnv({ ...base, LOVAGE_STATE_URL: 'amqp://mq:5672//' })).toThrow(
      new EnvError(
        'invalid environment variable LOVAGE_STATE_URL: state must be a redis:// or rediss:// URL (amqp:// is not supported)',
      ),
    );
  });
});
