import 'server-only';
import { protectedProcedure } from '../../trpc/init';

/** The signed-in user, with their role (the UI hides what they cannot do; the server refuses it anyway). */
export const getMe = protectedProcedure.query(({ ctx }) => ctx.user);
