export { idArg, tailArg, firstArg, cursorArg } from '../../packages/plugin-api/src/validators.ts';
