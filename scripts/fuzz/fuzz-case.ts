import type { RawRequest } from './raw-http.ts';

/** One generated request and what it is counted under. */
export interface FuzzCase {
  /** The route family: `ilab-ui POST /model/train`, `graphql POST`, `http`, … */
  family: string;
  /** The mutation applied: `traversal-param`, `deep-json`, `oversize`, … */
  kind: string;
  /** `graphql`, `http`, or a REST profile id: decides which 5xx are documented. */
  profile: string;
  /** `METHOD /template` of the REST route aimed at, when the request still reaches it. */
  route?: string;
  request: RawRequest;
}
