import type { EntityManager } from '@mikro-orm/core';
import type { BackplaneConfig } from '../config/schema.ts';
import { createAuthenticator, type Authenticator } from '../http/auth.ts';
import type { Logger } from '../services/logger-service.ts';
import type { UserDirectoryService } from '../../packages/plugin-api/src/services/users.ts';
import { FailedAttempts } from './failed-attempts.ts';
import { loadJwtSecret } from './jwt-secret.ts';
import type { ScryptParams } from './password-hash.ts';
import { TokenService } from './token-service.ts';
import { UserDirectory } from './user-directory.ts';
import { createUserDirectoryService } from './user-service.ts';

/** The daemon's auth store: API keys, users and their keys and tokens, and the authenticator over them. */
export interface DaemonAuth {
  authenticator: Authenticator;
  tokens: TokenService;
  /** Users of the config file and of the `bp_users` table, with their API keys. */
  directory: UserDirectory;
  /** The plugins' view of {@link directory} (`services.users`). */
  users: UserDirectoryService;
  /** Loads the users table and the signing secret once the database is open. */
  start(args: { fork: () => EntityManager; dataDir: string }): Promise<void>;
}

export function createDaemonAuth({ config, logger, env = process.env, now, hashParams }: { config: BackplaneConfig['auth']; logger: Logger; env?: NodeJS.ProcessEnv; now?: () => number; hashParams?: ScryptParams }): DaemonAuth {
  const directory = new UserDirectory({ configUsers: config.users, keyNames: config.keys.map((k) => k.name), hashParams, now });
  const failures = new FailedAttempts(config.failedAttempts, { now });
  const tokens = new TokenService({ users: directory, ...config.jwt, logger, now, failures });
  // Users added at run time do not turn authentication on (that stays as configured); their keys
  // and tokens authenticate them wherever it is on, and at the gateway always.
  const authenticator = createAuthenticator(config.keys, { env, tokens, userKeys: directory });
  return {
    authenticator,
    tokens,
    directory,
    users: createUserDirectoryService({ directory, tokens, failures }),
    async start({ fork, dataDir }) {
      await directory.load(fork);
      const load = async () => tokens.start({ secret: await loadJwtSecret({ secretEnv: config.jwt.secretEnv, dataDir, env }), fork });
      // Loaded without users too (one may be added at run time and log in at once), unless its
      // variable is missing: that only stops a start when users exist.
      if (directory.size > 0 || config.jwt.secretEnv === undefined || env[config.jwt.secretEnv]) return load();
      const off = directory.onChange(() => {
        off();
        load().catch((error) => logger.error('the JWT signing secret could not be loaded: logins fail until a restart', { error }));
      });
    },
  };
}
