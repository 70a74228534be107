const loopback = /^(127(\.\d{1,3}){3}|::1|localhost|::ffff:127(\.\d{1,3}){3})$/i;

/** True for addresses only this host can reach: 127.0.0.0/8, ::1, localhost (brackets allowed). */
export function isLoopback(host: string): boolean {
  return loopback.test(host.replace(/^\[|\]$/g, ''));
}
