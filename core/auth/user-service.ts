import { looksLikeJwt } from './jwt.ts';
import type { FailedAttempts } from './failed-attempts.ts';
import type { TokenService } from './token-service.ts';
import type { UserDirectory } from './user-directory.ts';
import type { UserAuthentication, UserDirectoryService } from '../../packages/plugin-api/src/services/users.ts';

/** The plugins' read-only view of the users, with the credential check the gateway uses. */
export function createUserDirectoryService({ directory, tokens, failures }: { directory: UserDirectory; tokens: TokenService; failures: FailedAttempts }): UserDirectoryService {
  return {
    get: (name) => directory.find(name),
    list: () => directory.list(),
    onChange: (listener) => directory.onChange(listener),
    authenticate(credential, address): UserAuthentication {
      if (!credential) return { ok: false, reason: 'missing' };
      const retryAfter = failures.blockedFor(address);
      if (retryAfter > 0) return { ok: false, reason: 'limited', retryAfter };
      let user = directory.resolveKey(credential);
      if (!user && looksLikeJwt(credential)) {
        const verified = tokens.verifyAccessToken(credential);
        user = verified ? directory.find(verified.auth.principal) : undefined;
      }
      if (user) return { ok: true, user };
      failures.fail(address);
      return { ok: false, reason: 'invalid' };
    },
  };
}
