import { download, exportTasks } from '@/server/export/export';
import { exportTasksQuery } from '@/server/export/export.schema';
import { exportRoute } from '@/server/export/route';

/** The task list, filtered as on the Tasks page, as CSV or JSON (streamed; payload secrets masked). */
export const GET = exportRoute(exportTasksQuery, (services, query) =>
  download(exportTasks(services.lovage.taskIndex, query), 'lovage-tasks', query.format),
);
