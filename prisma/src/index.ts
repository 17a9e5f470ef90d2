/** The console's database: open it (migrations applied), and the generated client's types. */
export { openDatabase, PrismaClient, type Database, type DatabaseOptions } from './database';
export { applyMigrations, readMigrations, MigrationError, type Migration } from './migrate';
export { Prisma } from '../generated/client';
export type { User, AuditEntry, SettingsVersion as SettingsVersionRow } from '../generated/client';
