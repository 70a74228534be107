export { encodeGoJson, sortedKeys } from '../../packages/plugin-api/src/wire/go-json.ts';
