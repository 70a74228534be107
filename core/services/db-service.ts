export type { DatabaseService } from '../../packages/plugin-api/src/services/database.ts';
