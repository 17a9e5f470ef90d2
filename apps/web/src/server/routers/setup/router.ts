import { router } from '../../trpc/init';
import { createFirstAdmin } from './create-first-admin';
import { getSetupStatus } from './get-setup-status';

export const setupRouter = router({ status: getSetupStatus, createAdmin: createFirstAdmin });
