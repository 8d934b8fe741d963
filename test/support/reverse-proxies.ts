// Real reverse proxies for the forward-auth suites: Debian's nginx (auth_request) and
// Caddy (forward_auth), each a child process listening on 127.0.0.1 with its
// configuration, pid file, logs and temporary files in its own temp dir, in front of an
// upstream that answers with the request headers it got. The configurations are those
// of docs/deploy.md ("Forward-auth"), with the addresses of the test filled in.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './browser.js';
import { skipReason } from './harness.js';

export const NGINX_PATH = '/usr/sbin/nginx';
export const CADDY_PATH = '/usr/bin/caddy';

/** The headers Tessera answers a check with, which the proxies pass to the app. */
export const IDENTITY_HEADERS = ['Remote-User', 'Remote-Email', 'Remote-Name', 'Remote-Role', 'Remote-Account'] as const;

export function nginxSkipReason(): string | false {
  return skipReason(!existsSync(NGINX_PATH), `nginx forward-auth suite skipped: ${NGINX_PATH} does not exist (apt-get install nginx)`);
}

export function caddySkipReason(): string | false {
  return skipReason(!existsSync(CADDY_PATH), `Caddy forward-auth suite skipped: ${CADDY_PATH} does not exist (apt-get install caddy)`);
}

/** What the upstream got: the path and query, and the headers. */
export interface UpstreamRequest {
  url: string;
  headers: IncomingHttpHeaders;
}

export interface EchoUpstream {
  port: number;
  /** Every request that reached the upstream (but the browser's favicon), oldest first. */
  requests: UpstreamRequest[];
  close(): Promise<void>;
}

/** An app behind the proxy that answers each request with `{ url, headers }` as JSON. */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const requests: UpstreamRequest[] = [];
  const server: Server = createServer((request, response) => {
    // The browser asks for one by itself, now and then: not a request of the tests.
    if (request.url === '/favicon.ico') {
      response.writeHead(404).end();
      return;
    }
    const seen = { url: request.url ?? '', headers: request.headers };
    requests.push(seen);
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    response.end(JSON.stringify(seen));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RunningProxy {
  /** The proxy's address for the guarded host, e.g. http://app.tessera.test:41234. */
  origin: string;
  port: number;
  /** The configuration it runs, for a failure's message. */
  config: string;
  /** What it wrote to stderr and its error log so far. */
  output(): string;
  close(): Promise<void>;
}

export interface ProxyTarget {
  /** The guarded host's name (its port is the proxy's). */
  host: string;
  /** Tessera, as the proxy reaches it: 127.0.0.1:<port>. */
  tessera: string;
  /** The app behind the proxy: 127.0.0.1:<port>. */
  upstream: string;
}

/** The nginx configuration of docs/deploy.md for one guarded host. */
export function nginxConfig(target: ProxyTarget & { port: number; dir: string }): string {
  const identity = IDENTITY_HEADERS.map((name) => {
    const variable = `$tessera_${name.slice('Remote-'.length).toLowerCase()}`;
    return {
      set: `auth_request_set ${variable} $upstream_http_${name.toLowerCase().replace(/-/g, '_')};`,
      pass: `proxy_set_header ${name} ${variable};`,
    };
  });
  return `worker_processes 1;
pid ${target.dir}/nginx.pid;
error_log ${target.dir}/error.log warn;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path ${target.dir}/client_body;
  proxy_temp_path ${target.dir}/proxy;
  fastcgi_temp_path ${target.dir}/fastcgi;
  uwsgi_temp_path ${target.dir}/uwsgi;
  scgi_temp_path ${target.dir}/scgi;

  # Any other name: refused, so that a client cannot pick which host is checked.
  server {
    listen 127.0.0.1:${target.port} default_server;
    return 444;
  }

  server {
    listen 127.0.0.1:${target.port};
    server_name ${target.host};

    location / {
      auth_request /tessera-forward-auth;
      ${identity.map((header) => header.set).join('\n      ')}
      auth_request_set $tessera_signin $upstream_http_location;
      error_page 401 =302 $tessera_signin;

      # Set from Tessera's answer, in place of any the client sent.
      ${identity.map((header) => header.pass).join('\n      ')}
      proxy_pass http://${target.upstream};
    }

    location = /tessera-forward-auth {
      internal;
      proxy_pass http://${target.tessera}/api/v1/forward-auth?mode=nginx;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
    }
  }
}
`;
}

/** The Caddyfile of docs/deploy.md for one guarded host. */
export function caddyConfig(target: ProxyTarget & { port: number; dir: string }): string {
  return `{
	admin off
	auto_https off
	storage file_system ${target.dir}/storage
}

http://${target.host}:${target.port} {
	bind 127.0.0.1
	# route keeps this order (by default Caddy runs request_header after forward_auth,
	# which would drop the headers Tessera gave).
	route {
		# Whatever a client sent under these names never reaches the app.
		${IDENTITY_HEADERS.map((name) => `request_header -${name}`).join('\n\t\t')}
		forward_auth ${target.tessera} {
			uri /api/v1/forward-auth
			copy_headers ${IDENTITY_HEADERS.join(' ')}
		}
		reverse_proxy ${target.upstream}
	}
}
`;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Runs a proxy from its configuration until it listens; kills it on close. */
async function runProxy(
  name: string,
  target: ProxyTarget,
  write: (input: ProxyTarget & { port: number; dir: string }) => { file: string; text: string },
  command: (dir: string, file: string) => { path: string; args: string[]; env?: Record<string, string> },
): Promise<RunningProxy> {
  const dir = mkdtempSync(join(tmpdir(), `tessera-${name}-`));
  // nginx started as root runs its worker as nobody, which must reach the temp files.
  chmodSync(dir, 0o755);
  let child: ChildProcess | null = null;
  let stderr = '';
  const output = () => {
    const errorLog = join(dir, 'error.log');
    return `${stderr}${existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : ''}`;
  };
  const stop = async () => {
    const running = child;
    child = null;
    if (running && running.exitCode === null && running.signalCode === null) {
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const config = write({ ...target, port, dir });
    const configPath = join(dir, config.file);
    writeFileSync(configPath, config.text);
    const run = command(dir, configPath);
    const started = spawn(run.path, run.args, { cwd: dir, env: { ...process.env, ...run.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    started.stderr!.setEncoding('utf8');
    started.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
    });
    const deadline = Date.now() + 15_000;
    while (!(await listening(port))) {
      if (started.exitCode !== null || started.signalCode !== null) throw new Error(`${name} exited (${started.exitCode ?? started.signalCode}):\n${output()}`);
      if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port} within 15 s:\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { origin: `http://${target.host}:${port}`, port, config: config.text, output, close: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export function startNginx(target: ProxyTarget): Promise<RunningProxy> {
  return runProxy(
    'nginx',
    target,
    (input) => ({ file: 'nginx.conf', text: nginxConfig(input) }),
    // -e: errors before the configuration is read go to the temp dir too, not /var/log.
    (dir, file) => ({ path: NGINX_PATH, args: ['-p', dir, '-c', file, '-e', join(dir, 'error.log'), '-g', 'daemon off;'] }),
  );
}

export function startCaddy(target: ProxyTarget): Promise<RunningProxy> {
  return runProxy(
    'caddy',
    target,
    (input) => ({ file: 'Caddyfile', text: caddyConfig(input) }),
    // Caddy keeps its own files under HOME and XDG_*: all of them in the temp dir.
    (dir, file) => ({
      path: CADDY_PATH,
      args: ['run', '--config', file, '--adapter', 'caddyfile'],
      env: { HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data') },
    }),
  );
}
