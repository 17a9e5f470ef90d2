import { router } from '../../trpc/init';
import { findSettingsVersions } from './find-settings-versions';
import { getSettings } from './get-settings';
import { updateSettings } from './update-settings';

export const settingsRouter = router({
  get: getSettings,
  update: updateSettings,
  versions: findSettingsVersions,
});
