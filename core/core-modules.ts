import { addAuthSchema } from './auth/auth-schema.ts';
import { addUserSchema } from './auth/user-schema.ts';
import type { CoreSchemaModule } from './graphql/build-schema.ts';
import { jobOperations, jobRoutes } from './jobs/job-routes.ts';
import { addJobSchema } from './jobs/job-schema.ts';
import type { RestRoute } from './rest/route.ts';

/** Core's own contributions to the schema and the REST layer, next to the plugins'. */
export const coreSchemaModules: readonly CoreSchemaModule[] = [addJobSchema, addAuthSchema, addUserSchema];
export const coreRoutes: readonly RestRoute[] = jobRoutes;
export const coreOperations: readonly URL[] = [jobOperations];
