import { router } from '../../trpc/init';
import { createUser } from './create-user';
import { findUsers } from './find-users';
import { setUserDisabled } from './set-user-disabled';
import { setUserPassword } from './set-user-password';
import { updateUserRole } from './update-user-role';

export const usersRouter = router({
  find: findUsers,
  create: createUser,
  updateRole: updateUserRole,
  setPassword: setUserPassword,
  setDisabled: setUserDisabled,
});
