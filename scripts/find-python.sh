#!/usr/bin/env bash
# Print the path of a Python 3.12 or 3.13 that really runs (pyenv shims for versions that
# are not installed print an error instead), or explain what to install and exit 1.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if (3, 12) <= sys.version_info[:2] < (3, 14) else 1)' >/dev/null 2>&1; }

if [ -n "${PYTHON:-}" ]; then
  if ok "$PYTHON"; then command -v "$PYTHON" || echo "$PYTHON"; exit 0; fi
  echo "error: PYTHON=$PYTHON is not a working Python 3.12 or 3.13; point PYTHON at one (for example PYTHON=/usr/bin/python3.12)." >&2
  exit 1
fi
pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
for candidate in python3.13 python3.12 \
    $(ls -d "$pyenv_root"/versions/3.13*/bin/python3 "$pyenv_root"/versions/3.12*/bin/python3 2>/dev/null | sort -rV) \
    /usr/local/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.13 /usr/bin/python3.12 python3; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if ok "$path"; then echo "$path"; exit 0; fi
done
cat >&2 <<'MSG'
error: no working Python 3.12 or 3.13 found (LocalStack 2026.3.0 and the Lambda runtimes need one).
Install one, for example `pyenv install 3.13` or `apt-get install python3.13`,
or name one with `make PYTHON=/path/to/python3.13 ...`.
MSG
exit 1
