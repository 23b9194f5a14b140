#!/usr/bin/env bash
# Regenerates the vectors of the scripts here (../data/*__django-*.json) with Django 3.2 (Debian
# python3-django), and with 5.2 and 6.1 when ../shared/django/setup.sh beside the checkout (or
# DJANGO_SETUP) is there to unpack them.
set -euo pipefail
cd "$(dirname "$0")"
for s in template_fidelity vary_lists page_keys_upstream; do
  /usr/bin/python3 $s.py
done
setup=${DJANGO_SETUP:-../../../../shared/django/setup.sh}
if [ -f "$setup" ]; then
  eval "$(bash "$setup" | grep -E '^(DJANGO61_PATH|DJANGO52_PATH|PY312)=')"
  for s in template_fidelity vary_lists; do
    PYTHONPATH=$DJANGO52_PATH "$PY312" $s.py
    PYTHONPATH=$DJANGO61_PATH "$PY312" $s.py
  done
fi
rm -rf __pycache__
