export { goTextError } from '../../packages/plugin-api/src/wire/go-text-error.ts';
