import type { CoreSchemaModule } from './graphql/build-schema.js';
import { jobOperations, jobRoutes } from './jobs/job-routes.js';
import { addJobSchema } from './jobs/job-schema.js';
import type { RestRoute } from './rest/route.js';

/** Core's own contributions to the schema and the REST layer, next to the plugins'. */
export const coreSchemaModules: readonly CoreSchemaModule[] = [addJobSchema];
export const coreRoutes: readonly RestRoute[] = jobRoutes;
export const coreOperations: readonly URL[] = [jobOperations];
