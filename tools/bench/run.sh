#!/usr/bin/env bash
# Run the meterd benchmark (python -m tools.bench) from the project's .venv.
# Example: tools/bench/run.sh --scale 100000     (all options: tools/bench/run.sh --help)
source "$(dirname "$0")/../_venv.sh"
ensure_venv test
cd "$ROOT"
exec "$VENV/bin/python" -m tools.bench "$@"
