"""Print the admin token of the token file, creating the file when missing (used by run.sh)."""

import argparse
import json
import sys

from meterd.api.middleware import auth


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Print an admin token from the meterd token file, creating the file '
                    '(with one random admin token, mode 0600) when it does not exist.')
    parser.add_argument('--state-path', required=True,
                        help='meterd state directory holding tokens.json')
    parser.add_argument('--token-file', help='token file (default: STATE_PATH/tokens.json)')
    args = parser.parse_args(argv)
    path = args.token_file or f'{args.state_path}/tokens.json'
    auth.ensure_token_file(path)
    with open(path) as f:
        tokens = json.load(f)
    for token, identity in tokens.items():
        if 'admin' in (identity.get('roles') or []):
            print(token)
            return 0
    print(f'no admin token in {path}', file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
