import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { fixturesDir } from './fixtures.ts';

/**
 * Real podman for tests, isolated from the host's own containers: a `containers.conf` and a
 * `storage.conf` in a temp dir, exported through `CONTAINERS_CONF` / `CONTAINERS_STORAGE_CONF`
 * (so a daemon started in this process runs production-identical podman command lines), and
 * a fake vLLM image built with `podman import` (no registry needed).
 *
 * Needs root, `podman`, `runc` and Debian's `busybox-static`.
 */
export interface PodmanEnv {
  dir: string;
  env: { CONTAINERS_CONF: string; CONTAINERS_STORAGE_CONF: string };
  /** Runs podman in this environment. Never throws on a non-zero exit. */
  podman(args: readonly string[]): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }>;
  /** Names of every container in this environment, running or not. */
  containers(): Promise<string[]>;
  /** Removes every container and image, then the temp dir; restores the environment variables. */
  cleanup(): Promise<void>;
}

/** The image name the vllm-podman plugin runs by default. */
export const defaultVllmImage = 'docker.io/vllm/vllm-openai:latest';

const busyboxCandidates = ['/bin/busybox', '/usr/bin/busybox'];
const cacheDir = path.join(process.cwd(), 'node_modules', '.cache', 'backplane-podman');
const imageDir = path.join(fixturesDir, 'vllm-image');

/** Whether real podman tests can run here (podman, runc and a static busybox, as root). */
export function podmanTestsAvailable(): boolean {
  const onPath = (name: string) => (process.env.PATH ?? '').split(':').some((dir) => existsSync(path.join(dir, name)));
  return process.getuid?.() === 0 && onPath('podman') && (onPath('runc') || existsSync('/usr/sbin/runc')) && busyboxCandidates.some((p) => existsSync(p));
}

/**
 * Creates the environment and builds the fake vLLM image, tagged as each of `images`.
 * Call once per test file (in `beforeAll`) and `cleanup()` in `afterAll`.
 */
export async function startPodmanEnv({ images = [defaultVllmImage] }: { images?: string[] } = {}): Promise<PodmanEnv> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bp-podman-'));
  const env = { CONTAINERS_CONF: path.join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf') };
  await writeFile(env.CONTAINERS_CONF, containersConf(dir));
  await writeFile(env.CONTAINERS_STORAGE_CONF, storageConf(dir, 'overlay'));
  const saved = { CONTAINERS_CONF: process.env.CONTAINERS_CONF, CONTAINERS_STORAGE_CONF: process.env.CONTAINERS_STORAGE_CONF };
  Object.assign(process.env, env);

  const podman: PodmanEnv['podman'] = async (args) => {
    const result = await execa('podman', [...args], { env, reject: false, timeout: 120_000 });
    return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
  };
  // overlay is about 3x faster to start containers; some hosts (nested overlayfs) only take vfs.
  if ((await podman(['info', '--format', '{{.Store.GraphDriverName}}'])).exitCode !== 0) {
    await writeFile(env.CONTAINERS_STORAGE_CONF, storageConf(dir, 'vfs'));
  }

  const tarball = await fakeVllmRootfs();
  const local = `localhost/backplane-fake-vllm:${path.basename(tarball, '.tar').slice(-12)}`;
  const imported = await podman(['import', '--change', 'ENTRYPOINT ["/usr/local/bin/vllm", "serve"]', '--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin', tarball, local]);
  if (imported.exitCode !== 0) throw new Error(`podman import failed: ${imported.stderr}`);
  for (const image of images) {
    const tagged = await podman(['tag', local, image]);
    if (tagged.exitCode !== 0) throw new Error(`podman tag failed: ${tagged.stderr}`);
  }

  return {
    dir,
    env,
    podman,
    async containers() {
      const { stdout } = await podman(['ps', '-a', '--format', '{{.Names}}']);
      return stdout.split('\n').filter(Boolean);
    },
    async cleanup() {
      await podman(['rm', '-af', '-t', '0']);
      await podman(['rmi', '-af']);
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function containersConf(dir: string): string {
  return [
    '[containers]',
    // The sandbox lacks CAP_SYS_RESOURCE: runc must not raise limits above the hard ones.
    'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
    'netns = "host"',
    '[engine]',
    // crun refuses the hybrid cgroup v1/v2 hosts we test on.
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = "${dir}/events.log"`,
    // Keeps libpod's runtime state (alive lock, exit files) apart from the host's /run/libpod.
    `tmp_dir = "${dir}/libpod-tmp"`,
    '',
  ].join('\n');
}

function storageConf(dir: string, driver: 'overlay' | 'vfs'): string {
  return ['[storage]', `driver = "${driver}"`, `runroot = "${dir}/run"`, `graphroot = "${dir}/root"`, ''].join('\n');
}

/**
 * The fake vLLM root filesystem as a tarball: static busybox, this Node binary with the
 * shared libraries `ldd` lists, and the fake server. Cached by a hash of its inputs.
 */
async function fakeVllmRootfs(): Promise<string> {
  const busybox = busyboxCandidates.find((p) => existsSync(p));
  if (!busybox) throw new Error('busybox not found: apt-get install busybox-static');
  const libs = await sharedLibraries(process.execPath);
  const hash = createHash('sha256').update('fake-vllm-rootfs-v1');
  for (const file of [busybox, process.execPath, ...libs]) {
    const info = await stat(file);
    hash.update(`${file}:${info.size}:${info.mtimeMs}\n`);
  }
  for (const file of ['fake-vllm.mjs', 'vllm']) hash.update(await readFile(path.join(imageDir, file)));
  const tarball = path.join(cacheDir, `fake-vllm-${hash.digest('hex').slice(0, 16)}.tar`);
  if (existsSync(tarball)) return tarball;

  await mkdir(cacheDir, { recursive: true });
  const root = await mkdtemp(path.join(os.tmpdir(), 'bp-rootfs-'));
  try {
    for (const sub of ['bin', 'etc', 'proc', 'sys', 'dev', 'root', 'usr/local/bin', 'opt/fake-vllm']) await mkdir(path.join(root, sub), { recursive: true });
    await mkdir(path.join(root, 'tmp'), { mode: 0o1777 });
    await chmod(path.join(root, 'tmp'), 0o1777);
    await copyFile(busybox, path.join(root, 'bin', 'busybox'));
    const applets = (await execa(busybox, ['--list'])).stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox');
    for (const applet of applets) await symlink('/bin/busybox', path.join(root, 'bin', applet));
    await copyFile(process.execPath, path.join(root, 'usr/local/bin/node'));
    for (const lib of libs) {
      await mkdir(path.join(root, path.dirname(lib)), { recursive: true });
      await copyFile(lib, path.join(root, lib));
    }
    await copyFile(path.join(imageDir, 'vllm'), path.join(root, 'usr/local/bin/vllm'));
    await chmod(path.join(root, 'usr/local/bin/vllm'), 0o755);
    await copyFile(path.join(imageDir, 'fake-vllm.mjs'), path.join(root, 'opt/fake-vllm/fake-vllm.mjs'));
    await writeFile(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    await writeFile(path.join(root, 'etc/group'), 'root:x:0:\n');
    // Written aside and renamed, so parallel test files never read a half-written tarball.
    const partial = `${tarball}.${process.pid}.partial`;
    await execa('tar', ['-C', root, '-cf', partial, '.']);
    await rename(partial, tarball);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return tarball;
}

/** Absolute paths of the shared libraries (and loader) an executable needs, from `ldd`. */
async function sharedLibraries(executable: string): Promise<string[]> {
  const { stdout } = await execa('ldd', [executable]);
  const libs = new Set<string>();
  for (const line of stdout.split('\n')) {
    const match = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (match) libs.add(match[1]);
  }
  return [...libs];
}

/** How the fake vLLM behaves for one model dir (see test/fixtures/vllm-image/fake-vllm.mjs). */
export interface FakeVllmBehaviour {
  loadMs?: number;
  style?: 'current' | 'old';
  crash?: string;
  crashAfterMs?: number;
  healthStatus?: number;
}

/** A temp model root with one directory per fake model, each with its `fake-vllm.json`. */
export async function createModelRoot(models: Record<string, FakeVllmBehaviour>): Promise<{ root: string; path(name: string): string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bp-models-'));
  for (const [name, behaviour] of Object.entries(models)) {
    await mkdir(path.join(root, name), { recursive: true });
    await writeFile(path.join(root, name, 'fake-vllm.json'), JSON.stringify(behaviour));
    await writeFile(path.join(root, name, 'config.json'), '{"architectures":["GraniteForCausalLM"]}\n');
  }
  return { root, path: (name) => path.join(root, name), cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, { timeoutMs = 30_000, everyMs = 100 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
