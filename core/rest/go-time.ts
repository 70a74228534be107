export { formatGoRfc3339 } from '../../packages/plugin-api/src/wire/go-time.ts';
