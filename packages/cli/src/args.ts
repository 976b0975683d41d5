import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Role } from './config.js';

/**
 * The command line of the server roles: usage texts, `--help`, and arguments checked before any
 * configuration is read. Usage mistakes are UsageErrors: one line on stderr, exit 2.
 */

export const USAGE = `Usage: switchboard <command> [options]

Commands:
  standalone              dispatch + one gateway in one process, in-memory backends (no Redis, no RabbitMQ)
  gateway                 one cluster gateway (needs Redis and RabbitMQ)
  dispatch                the dispatch service (needs Redis)
  cluster --gateways N    dispatch + N gateways as child processes (default N = 3)
  bench [options]         load and chaos generator (see: switchboard bench --help)
  chat --uid ID           interactive terminal chat client (see: switchboard chat --help)
  token --uid ID          mint a development login token from IM_JWT_SECRET (see: switchboard token --help)

Every command takes --help. Configuration comes from IM_* environment variables; see the README.
From a checkout: pnpm switchboard <command> [options] (pnpm's "--" before the options is accepted).`;

const ENV_NOTE = 'Configuration comes from IM_* environment variables (README, "Configuration"); bad values exit 2 with one message.';

/** `switchboard <role> --help`. */
export const ROLE_HELP: Record<Role, string> = {
  standalone: `Usage: switchboard standalone

Dispatch and one gateway in one process, with in-memory routes and offline queues (no Redis, no
RabbitMQ): for development, demos and small single-box installs. Prints {"event":"ready",...} with
the ports it bound.

Ports: IM_WS_PORT (3000), IM_TCP_PORT (8901), IM_UDP_PORT (7901), IM_ADMIN_PORT (9100),
IM_DISPATCH_PORT (8080); 0 picks a free port. IM_AUTH defaults to none here.
TLS: IM_TLS_CERT and IM_TLS_KEY (PEM files) serve wss://, TLS on TCP and HTTPS.
${ENV_NOTE}`,
  gateway: `Usage: switchboard gateway

One cluster gateway: WebSocket, TCP and UDP listeners for MobileIMSDK clients and an admin port.
Needs Redis (IM_REDIS_URL) and RabbitMQ (IM_AMQP_URL). Prints {"event":"ready",...} with its ports.

Ports: IM_WS_PORT (3000), IM_TCP_PORT (8901), IM_UDP_PORT (7901), IM_ADMIN_PORT (9100); 0 picks a
free port (use 0 for several gateways on one host). IM_AUTH defaults to jwt: set IM_JWT_SECRET.
TLS: IM_TLS_CERT and IM_TLS_KEY (PEM files) serve wss:// and TLS on TCP; behind a TLS-terminating
proxy, IM_PUBLIC_WS_URL is the URL dispatch hands out for this gateway.
${ENV_NOTE}`,
  dispatch: `Usage: switchboard dispatch

The dispatch service: hands each client the least-loaded gateway (GET /api/dispatch), the cluster
admin API, the push API and the web chat page, on IM_DISPATCH_PORT (8080). Needs Redis
(IM_REDIS_URL); RabbitMQ (IM_AMQP_URL) for kicks and live pushes.
TLS: IM_TLS_CERT and IM_TLS_KEY (PEM files) serve HTTPS; clients are handed wss:// for gateways
that serve TLS, or the URL a gateway's IM_PUBLIC_WS_URL names.
${ENV_NOTE}`,
  cluster: `Usage: switchboard cluster [--gateways N]

Dispatch and N gateways (default 3, at most 64) as child processes of this one, gateways on free
ports, for a machine without Docker. Needs Redis and RabbitMQ. SIGINT or SIGTERM stops them all.

  --gateways N    number of gateways

${ENV_NOTE}`,
};

/** A mistake on the command line: printed as one line (plus where to look), exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * pnpm 10 passes a \`--\` given after a script name on to the script (\`pnpm cluster -- --gateways 3\`
 * runs \`main.ts cluster -- --gateways 3\`): one \`--\` before the command and one right after it are
 * dropped.
 */
export function dropPnpmSeparators(argv: readonly string[]): string[] {
  const out = [...argv];
  if (out[0] === '--') out.shift();
  if (out[1] === '--') out.splice(1, 1);
  return out;
}

/** What a server role's arguments ask for. */
export type RoleArgs = { help: true } | { help: false; gateways: number };

/** Parse a server role's arguments: `--help`/`-h`, and `--gateways N` for `cluster`. */
export function parseRoleArgs(role: Role, args: readonly string[]): RoleArgs {
  const options: ParseArgsConfig['options'] = {
    help: { type: 'boolean', short: 'h' },
    ...(role === 'cluster' ? { gateways: { type: 'string' } } : {}),
  };
  let values: { help?: boolean; gateways?: string };
  try {
    ({ values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }) as { values: typeof values });
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    throw new UsageError(`${role}: ${msg.replace(/\. To specify a positional argument.*$/, '')}; see: switchboard ${role} --help`);
  }
  if (values.help) return { help: true };
  const raw = values.gateways ?? '3';
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(n) || n < 1 || n > 64) {
    throw new UsageError(`cluster: --gateways must be a whole number from 1 to 64, got "${raw}"`);
  }
  return { help: false, gateways: n };
}
