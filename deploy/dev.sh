#!/usr/bin/env bash
# One entry point for a fresh Debian machine:
#   bash deploy/dev.sh up     start the whole portal with demo data (Ctrl-C stops it)
#   bash deploy/dev.sh test   run the test suite
# It installs what is missing (Debian packages when run as root, a .venv with the
# project), then runs `portal <command>`. Any other arguments go to `portal`.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: browser tests; fonts-noto-cjk: Chinese in pages and PDFs; poppler-utils:
# PDF thumbnails and checks; the pango/harfbuzz/fontconfig libraries: WeasyPrint;
# pgbouncer: the tenancy tests also run through it (transaction pooling); pgbackrest: backups of
# the cluster `up` starts, and the restore drill.
PACKAGES=(chromium fonts-noto-cjk poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b
          libharfbuzz-subset0 libfontconfig1 libglib2.0-0 python3-venv pgbouncer pgbackrest)
missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q && apt-get install -y -q "${missing[@]}"
    else
        echo "Missing Debian packages (install them as root): ${missing[*]}" >&2
    fi
fi

PYTHON=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        PYTHON="$(command -v "$candidate")"
        break
    fi
done
[ -n "$PYTHON" ] || { echo "Python 3.11 or newer is needed" >&2; exit 1; }

# (Re)install the project when pyproject.toml changed since the last install.
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off -q -e '.[test]'
    rm -f .venv/.installed-* && touch "$stamp"
fi

exec .venv/bin/portal "$@"
