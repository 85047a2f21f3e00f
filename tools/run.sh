#!/usr/bin/env bash
# Install meterd into .venv and start meterd-api on 127.0.0.1:8777 with the embedded
# SQLite store, printing the admin token. Extra arguments go to meterd-api.
source "$(dirname "$0")/_venv.sh"
ensure_venv cli
cd "$ROOT"
STATE="${METERD_STATE_PATH:-$ROOT/.state}"
mkdir -p "$STATE"
TOKEN="$("$VENV/bin/python" -m meterd.cmd.token --state-path "$STATE")"
echo "meterd admin token: $TOKEN"
echo "try: curl -H \"X-Auth-Token: $TOKEN\" http://127.0.0.1:8777/v2/capabilities"
CONF="$STATE/meterd.conf"
if [ ! -f "$CONF" ]; then
    printf '[DEFAULT]\nstate_path = %s\n\n[api]\nhost = 127.0.0.1\nport = 8777\nauth_strategy = token\n' \
        "$STATE" > "$CONF"
fi
exec "$VENV/bin/meterd-api" --config-file "$CONF" "$@"
