/** The REST test plugin as a loadable module (`plugins.rest-test.module`), for the fuzz daemon. */
export { restTestPlugin as default } from '../../test/helpers/rest-test-plugin.ts';
