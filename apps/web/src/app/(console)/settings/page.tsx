import { SettingsView } from '@/features/settings/settings-view';

export const metadata = { title: 'Settings · Lovage' };

export default function SettingsPage() {
  return <SettingsView />;
}
