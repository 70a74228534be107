export type { HttpMethod, RestRequest, RestReply, RestErrorReplies, VariableSource, RestRoute, RestProxyTarget, RateLimitClass } from '../../packages/plugin-api/src/rest.ts';
