import { download, exportAudit } from '@/server/export/export';
import { exportAuditQuery } from '@/server/export/export.schema';
import { exportRoute } from '@/server/export/route';

/** The audit log, filtered as on the Audit page, as CSV or JSON (streamed; secrets masked). */
export const GET = exportRoute(exportAuditQuery, (services, query) =>
  download(exportAudit(services.prisma, query), 'lovage-audit', query.format),
);
