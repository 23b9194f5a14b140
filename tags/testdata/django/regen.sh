#!/usr/bin/env bash
# Regenerates the *.golden.json files from real Django: 3.2 (Debian's
# python3-django, /usr/bin/python3) and 6.1 (../../../../shared/django/setup.sh
# unpacks it; set DJANGO61_PATH and PY312 as it prints).
set -eu
cd "$(dirname "$0")"
for f in *.cases.json; do
  b=${f%.cases.json}
  /usr/bin/python3 golden.py "$f" > "$b.golden32.json"
  if [ -n "${DJANGO61_PATH:-}" ]; then
    PYTHONPATH=$DJANGO61_PATH "$PY312" golden.py "$f" > "$b.golden61.json"
  fi
done
