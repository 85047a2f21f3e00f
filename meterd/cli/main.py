"""``meterd``: the argparse tree, connection options and the one place errors are printed."""

import argparse
import importlib.metadata
import os
import sys

from meterd.cli import commands
from meterd.cli import connection
from meterd.cli import http

DESCRIPTION = '''Command-line client for the meterd Telemetry API v2 (OpenStack Ceilometer v2
compatible): meters, samples, statistics, resources, complex queries, bulk import.'''

EPILOG = '''connection:
  The endpoint comes from --os-endpoint or METERD_URL, else the Keystone catalog when
  --os-auth-url is given, else [api] host/port of --config-file, else
  http://127.0.0.1:8777. The token comes from --os-token or OS_TOKEN, else a Keystone
  password login (--os-auth-url, --os-username, --os-password, --os-project-name, ...),
  else - for a server on this machine - the admin token of the server's token file
  ([api] token_file, or tokens.json in [DEFAULT] state_path, of the config file).

examples:
  meterd --config-file /etc/meterd/meterd.conf meter-list
  export METERD_URL=http://127.0.0.1:8777 OS_TOKEN=...
  meterd sample-list -q "resource_id=vm-1;timestamp>=2026-01-01T00:00:00" -l 10
  meterd statistics -m cpu_util -p 3600 -q "timestamp>=2026-01-01T00:00:00" --plot
  meterd --debug capabilities          # prints each request as a curl command line
  meterd sample-import usage.jsonl

Run "meterd COMMAND --help" for the options and examples of a command.'''


def _env(*names, default=None):
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    return default


def _version():
    try:
        return importlib.metadata.version('meterd')
    except importlib.metadata.PackageNotFoundError:
        return 'unknown'


def build_parser():
    parser = argparse.ArgumentParser(
        prog='meterd', description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--version', action='version', version=f'meterd {_version()}')
    conn = parser.add_argument_group('connection')
    conn.add_argument('--os-endpoint', metavar='URL', default=_env('METERD_URL'),
                      help='API endpoint, e.g. http://127.0.0.1:8777 (env METERD_URL).')
    conn.add_argument('--os-token', metavar='TOKEN', default=_env('OS_TOKEN'),
                      help='Token sent as X-Auth-Token (env OS_TOKEN).')
    conn.add_argument('--config-file', metavar='PATH', action='append',
                      default=[_env(connection.CONFIG_ENV)] if _env(connection.CONFIG_ENV)
                      else [],
                      help='The server\'s meterd.conf: gives the endpoint when none is set '
                           'and, for a local server, its admin token (env '
                           f'{connection.CONFIG_ENV}). Without it the server\'s default '
                           'locations are searched.')
    conn.add_argument('--no-local-admin', action='store_true',
                      help='Do not fall back to the local server\'s admin identity.')
    conn.add_argument('--timeout', type=float, default=60.0, metavar='SECONDS',
                      help='Seconds to wait for each answer (default 60).')
    conn.add_argument('--insecure', action='store_true',
                      help='Do not verify the server\'s TLS certificate.')
    conn.add_argument('--os-cacert', metavar='FILE', default=_env('OS_CACERT'),
                      help='CA bundle to verify TLS certificates (env OS_CACERT).')
    conn.add_argument('--debug', action='store_true',
                      help='Print each request as a curl command (token shown as '
                           '$OS_TOKEN), then its status, timing and body, on stderr.')
    ks = parser.add_argument_group('keystone authentication (needs keystoneauth1)')
    ks.add_argument('--os-auth-url', metavar='URL', default=_env('OS_AUTH_URL'),
                    help='Keystone v3 URL (env OS_AUTH_URL).')
    ks.add_argument('--os-username', default=_env('OS_USERNAME'), help='(env OS_USERNAME)')
    ks.add_argument('--os-password', default=_env('OS_PASSWORD'), help='(env OS_PASSWORD)')
    ks.add_argument('--os-project-name', default=_env('OS_PROJECT_NAME', 'OS_TENANT_NAME'),
                    help='(env OS_PROJECT_NAME)')
    ks.add_argument('--os-user-domain-name', default=_env('OS_USER_DOMAIN_NAME',
                                                          default='Default'),
                    help='(env OS_USER_DOMAIN_NAME, default "Default")')
    ks.add_argument('--os-project-domain-name', default=_env('OS_PROJECT_DOMAIN_NAME',
                                                             default='Default'),
                    help='(env OS_PROJECT_DOMAIN_NAME, default "Default")')
    ks.add_argument('--os-region-name', default=_env('OS_REGION_NAME'),
                    help='Region of the catalog endpoint (env OS_REGION_NAME).')
    ks.add_argument('--os-interface', default=_env('OS_INTERFACE', default='public'),
                    help='Catalog interface: public, internal or admin (env OS_INTERFACE).')
    noauth = parser.add_argument_group(
        'identity for a server with auth_strategy = noauth (ignored by the others)')
    noauth.add_argument('--os-user-id', default=_env('OS_USER_ID'),
                        help='Sent as X-User-Id (env OS_USER_ID).')
    noauth.add_argument('--os-project-id', default=_env('OS_PROJECT_ID'),
                        help='Sent as X-Project-Id; also scopes a Keystone login '
                             '(env OS_PROJECT_ID).')
    noauth.add_argument('--os-roles', default=_env('OS_ROLES'),
                        help='Sent as X-Roles, e.g. admin (env OS_ROLES).')

    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND', title='commands')
    for command in commands.COMMANDS:
        sub = subparsers.add_parser(command.name, help=command.help,
                                    description=command.help, epilog=command.epilog,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_arguments(sub)
        sub.set_defaults(command_obj=command)
    return parser


def main(argv=None, out=None):
    """Run one command; return the process exit status (0 success, 1 error, 2 usage)."""
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, 'command_obj', None) is None:
        parser.print_help(out)
        return 2
    try:
        client = connection.build_client(args)
        args.command_obj.run(client, args, out)
    except http.CommandError as err:
        print(f'meterd: error: {err}', file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print('meterd: interrupted', file=sys.stderr)
        return 130
    except BrokenPipeError:
        # "meterd sample-list | head": the reader left; nothing more to say.
        sys.stderr.close()
        return 0
    return 0
