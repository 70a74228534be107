export type { HttpMethod, RestRequest, RestReply, RestErrorReplies, VariableSource, RestRoute, RestProxyTarget, RateLimitClass, RestStream } from '../../packages/plugin-api/src/rest.ts';
