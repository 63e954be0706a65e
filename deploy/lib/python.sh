# shellcheck shell=bash
# SignalForge — the Python interpreter that tests and benchmarks use as a peer
# (pandas, pyarrow, polars, duckdb). Source this file, then call sf_python_venv.
#
#   . deploy/lib/python.sh && sf_python_venv
#
# The virtualenv is owned by the project and lives at
# ${SIGNALFORGE_VENV:-$HOME/.cache/signalforge/venv}. sf_python_venv creates it
# when missing, installs only the pinned packages that are missing or at another
# version (idempotent; no network at all once everything is in place), and
# exports SIGNALFORGE_PYTHON=<venv>/bin/python.
#
# On a fresh Debian, `python3 -m venv` needs the apt packages in
# SF_PYTHON_PACKAGES. The interpreter that creates the venv is
# ${SF_PYTHON_BOOTSTRAP:-python3}.

SF_PYTHON_PACKAGES="python3 python3-venv"

# Pinned versions (what BASELINES.md was measured with, or the nearest release).
SF_PYTHON_PINS=(
    "numpy==2.4.6"
    "pandas==3.1.1"
    "pyarrow==26.0.1"
    "polars==2.1.0"
    "duckdb==2.0.1"
)

sf_python_venv() {
    local venv="${SIGNALFORGE_VENV:-$HOME/.cache/signalforge/venv}"
    local boot="${SF_PYTHON_BOOTSTRAP:-python3}"
    if [ ! -x "$venv/bin/python" ]; then
        echo "sf_python_venv: creating $venv" >&2
        mkdir -p "$(dirname "$venv")" || return 1
        "$boot" -m venv "$venv" || {
            echo "sf_python_venv: '$boot -m venv' failed (apt packages: $SF_PYTHON_PACKAGES)" >&2
            return 1
        }
    fi
    # Which pins are missing or at another version? Asked without the network.
    local missing
    missing="$("$venv/bin/python" - "${SF_PYTHON_PINS[@]}" <<'PY'
import sys
from importlib import metadata
for pin in sys.argv[1:]:
    name, version = pin.split("==")
    try:
        if metadata.version(name) == version:
            continue
    except metadata.PackageNotFoundError:
        pass
    print(pin)
PY
)" || return 1
    if [ -n "$missing" ]; then
        echo "sf_python_venv: installing $(echo "$missing" | tr '\n' ' ')" >&2
        # shellcheck disable=SC2086
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            $missing || {
            echo "sf_python_venv: pip install failed" >&2
            return 1
        }
    fi
    export SIGNALFORGE_PYTHON="$venv/bin/python"
}
