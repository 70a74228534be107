export type { HttpMethod, RestRequest, RestReply, RestErrorReplies, VariableSource, RestRoute } from '../../packages/plugin-api/src/rest.ts';
