#!/bin/sh
# man_lint.sh MANDOC PAGE...: `mandoc -Tlint -W warning` must say nothing about any page.
mandoc=$1
shift
status=0
for page in "$@"; do
  out=$("$mandoc" -Tlint -W warning "$page" 2>&1)
  if [ -n "$out" ]; then
    printf '%s\n' "$out"
    status=1
  fi
done
[ $status -eq 0 ] && echo "mandoc -Tlint -W warning: $# pages clean"
exit $status
