import type { EndpointProtocol } from '../../core/plugin-api.ts';

/** A route of an app: one model endpoint published under the app's prefix. */
export interface GatewayRoute {
  app: string;
  /** The seed's `model_name`, unique in its app. */
  modelName: string;
  /** The `services.endpoints` id it forwards to (`llama-cpp:tiny/tiny`, `triton:t1/resnet`). */
  endpointId: string;
  protocol: EndpointProtocol;
  createdAt: Date;
}

export interface GatewayConsumer {
  app: string;
  user: string;
  createdAt: Date;
}

export interface GatewayApp {
  name: string;
  prefix: string;
  host: string;
  /** Extra attempts after the first, on connect errors (and 502/503 for idempotent methods). */
  retries: number;
  /** Per attempt: until the backend begins to answer. */
  timeoutMs: number;
  /** Per consumer: `rateLimit` requests per `rateWindowSeconds`. */
  rateLimit: number;
  rateWindowSeconds: number;
  routes: GatewayRoute[];
  consumers: GatewayConsumer[];
  createdAt: Date;
  updatedAt: Date;
}

/** What creating or changing an app may set. */
export interface GatewayAppInput {
  name?: string | null;
  prefix?: string | null;
  host?: string | null;
  retries?: number | null;
  timeoutMs?: number | null;
  rateLimit?: number | null;
  rateWindowSeconds?: number | null;
}
