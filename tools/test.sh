#!/usr/bin/env bash
# Install meterd with its test dependencies into .venv and run the whole test suite.
# Extra arguments go to pytest (e.g. ./tools/test.sh -k statistics).
source "$(dirname "$0")/_venv.sh"
ensure_venv test
cd "$ROOT"
set +e
"$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
