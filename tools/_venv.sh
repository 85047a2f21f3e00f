# Sourced by run.sh and test.sh: create .venv with Python >= 3.11 and install meterd into it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${METERD_VENV:-$ROOT/.venv}"

find_python() {
    for py in python3.11 python3.12 python3.13 python3; do
        if command -v "$py" >/dev/null 2>&1 &&
           "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$py"; return 0
        fi
    done
    echo "meterd needs Python 3.11 or newer" >&2
    return 1
}

ensure_venv() {
    local extras="$1"
    if [ ! -x "$VENV/bin/python" ]; then
        local py
        py="$(find_python)"
        if ! "$py" -m venv "$VENV" 2>/dev/null; then
            echo "python venv module missing; installing python3-venv" >&2
            apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
            "$py" -m venv "$VENV"
        fi
    fi
    local stamp="$VENV/.meterd-installed-$extras"
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        echo "installing meterd[$extras] into $VENV (log: $VENV/pip.log)" >&2
        if ! { "$VENV/bin/python" -m pip install --upgrade pip &&
               "$VENV/bin/python" -m pip install -e "$ROOT[$extras]"; } >"$VENV/pip.log" 2>&1; then
            tail -n 30 "$VENV/pip.log" >&2
            echo "pip install failed; see $VENV/pip.log" >&2
            return 1
        fi
        touch "$stamp"
    fi
}
