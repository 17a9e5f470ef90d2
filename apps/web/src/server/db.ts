import 'server-only';
// The console's database lives in the repo's prisma/ folder (schema, migrations, client); this is the only
// import of it, so the relative path is written once.
export * from '../../../../prisma/src';
