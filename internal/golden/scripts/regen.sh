#!/usr/bin/env bash
# Regenerates ../data/template_fidelity__django-*.json with Django 3.2 (Debian
# python3-django), and with 5.2 and 6.1 when /work/shared/django/setup.sh (or
# DJANGO_SETUP) is there to unpack them.
set -euo pipefail
cd "$(dirname "$0")"
/usr/bin/python3 template_fidelity.py
setup=${DJANGO_SETUP:-/work/shared/django/setup.sh}
if [ -f "$setup" ]; then
  eval "$(bash "$setup" | grep -E '^(DJANGO61_PATH|DJANGO52_PATH|PY312)=')"
  PYTHONPATH=$DJANGO52_PATH "$PY312" template_fidelity.py
  PYTHONPATH=$DJANGO61_PATH "$PY312" template_fidelity.py
fi
rm -rf __pycache__
