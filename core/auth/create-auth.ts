import type { EntityManager } from '@mikro-orm/core';
import type { BackplaneConfig } from '../config/schema.ts';
import { createAuthenticator, type Authenticator } from '../http/auth.ts';
import type { Logger } from '../services/logger-service.ts';
import { loadJwtSecret } from './jwt-secret.ts';
import { TokenService } from './token-service.ts';
import { createConfigUserStore } from './user-store.ts';

/** The daemon's auth store: API keys, users and their tokens, and the authenticator over both. */
export interface DaemonAuth {
  authenticator: Authenticator;
  tokens: TokenService;
  /** Loads (or creates) the signing secret once the database is open; a no-op without users. */
  start(args: { fork: () => EntityManager; dataDir: string }): Promise<void>;
}

export function createDaemonAuth({ config, logger, env = process.env, now }: { config: BackplaneConfig['auth']; logger: Logger; env?: NodeJS.ProcessEnv; now?: () => number }): DaemonAuth {
  const tokens = new TokenService({ users: createConfigUserStore(config.users), ...config.jwt, logger, now });
  const authenticator = createAuthenticator(config.keys, { env, tokens });
  return {
    authenticator,
    tokens,
    async start({ fork, dataDir }) {
      if (!tokens.enabled) return;
      tokens.start({ secret: await loadJwtSecret({ secretEnv: config.jwt.secretEnv, dataDir, env }), fork });
    },
  };
}
