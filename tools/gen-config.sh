#!/usr/bin/env bash
# Regenerate etc/meterd/meterd.conf.sample from the options declared in the code.
# Run it after adding or changing an option; a unit test fails while the sample is stale.
source "$(dirname "$0")/_venv.sh"
ensure_venv cli
cd "$ROOT"
"$VENV/bin/oslo-config-generator" --config-file etc/oslo-config-generator/meterd.conf
echo "wrote etc/meterd/meterd.conf.sample"
