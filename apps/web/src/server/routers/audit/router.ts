import { router } from '../../trpc/init';
import { findAudit } from './find-audit';
import { findAuditActors } from './find-audit-actors';

export const auditRouter = router({ find: findAudit, actors: findAuditActors });
