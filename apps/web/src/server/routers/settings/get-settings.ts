import 'server-only';
import { protectedProcedure } from '../../trpc/init';

/** The current worker settings version, from Redis (what workers read). Null: never saved, app defaults. */
export const getSettings = protectedProcedure.query(async ({ ctx }) => {
  return { current: await ctx.services.lovage.settings.current() };
});
