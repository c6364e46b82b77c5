#!/bin/bash
# Runs the real binary on Debian's stock php-fpm 8.2 files: both must pass --test unchanged,
# and a broken copy must fail with FILE:LINE: message.
# Usage: debian_stock_test.sh PATH/TO/php-pool
set -u
exe=$1
fpm=/etc/php/8.2/fpm
if [[ ! -f $fpm/pool.d/www.conf || ! -f $fpm/php-fpm.conf ]]; then
  echo "SKIP: php8.2-fpm's stock files are not installed"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

expect_ok() {  # expect_ok DESCRIPTION ARGS...
  local what=$1; shift
  if "$exe" "$@" >"$tmp/out" 2>"$tmp/err"; then
    echo "ok: $what"; sed 's/^/    /' "$tmp/out" "$tmp/err"
  else
    fail "$what: exit $?"; cat "$tmp/out" "$tmp/err"
  fi
}

expect_fail() {  # expect_fail DESCRIPTION EXPECTED-STDERR-LINE ARGS...
  local what=$1 want=$2 rc=0; shift 2
  "$exe" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  if [ "$rc" -ne 78 ]; then  # EX_CONFIG, as php-fpm -t and a start with the file
    fail "$what: exit status $rc on a broken file, not 78"; cat "$tmp/out" "$tmp/err"
  elif ! grep -qxF -- "$want" "$tmp/err"; then
    fail "$what: stderr lacks '$want'"; cat "$tmp/err"
  else
    echo "ok: $what"; sed 's/^/    /' "$tmp/err"
  fi
}

expect_ok "stock pool file" --test --config $fpm/pool.d/www.conf
expect_ok "stock php-fpm.conf (includes pool.d/*.conf)" --test --config $fpm/php-fpm.conf
expect_ok "php-fpm spelling -t -y" -t -y $fpm/php-fpm.conf
grep -q "test is successful (pool 'www': pm dynamic, max_children 5)" "$tmp/out" ||
  fail "summary line missing: $(cat "$tmp/out")"
expect_ok "-tt prints the effective configuration" -tt --config $fpm/pool.d/www.conf
grep -qx $'\tlisten = /run/php/php8.2-fpm.sock' "$tmp/out" || fail "-tt: no listen line"
grep -qx $'\tpm.start_servers = 2' "$tmp/out" || fail "-tt: no pm.start_servers line"

# A broken copy of the stock pool file: a typo at a known line, the rest untouched.
cp $fpm/pool.d/www.conf "$tmp/www.conf"
line=$(grep -n '^pm.max_children = ' "$tmp/www.conf" | cut -d: -f1)
sed -i 's/^pm.max_children = /pm.max_chlidren = /' "$tmp/www.conf"
expect_fail "broken pool file" \
  "$tmp/www.conf:$line: unknown directive 'pm.max_chlidren' (did you mean 'pm.max_children'?)" \
  --test --config "$tmp/www.conf"

# The stock php-fpm.conf pointed at a directory holding the broken pool file.
mkdir "$tmp/pool.d"
cp "$tmp/www.conf" "$tmp/pool.d/www.conf"
sed "s|^include=.*|include=$tmp/pool.d/*.conf|" $fpm/php-fpm.conf >"$tmp/php-fpm.conf"
expect_fail "broken file included from php-fpm.conf" \
  "$tmp/pool.d/www.conf:$line: unknown directive 'pm.max_chlidren' (did you mean 'pm.max_children'?)" \
  --test --config "$tmp/php-fpm.conf"

# A validation error points at the directive's line.
cp $fpm/pool.d/www.conf "$tmp/www2.conf"
line=$(grep -n '^pm.max_spare_servers = ' "$tmp/www2.conf" | cut -d: -f1)
sed -i 's/^pm.max_spare_servers = .*/pm.max_spare_servers = 50/' "$tmp/www2.conf"
expect_fail "validation error" \
  "$tmp/www2.conf:$line: [pool www] pm.min_spare_servers(1) and pm.max_spare_servers(50) cannot be greater than pm.max_children(5)" \
  --test --config "$tmp/www2.conf"

# A broken seccomp policy named by the pool: FILE:LINE of the policy, at --test already.
printf '# a policy with one bad line\ndefault allow\nbogus line here\n' >"$tmp/bad.policy"
cp $fpm/pool.d/www.conf "$tmp/www3.conf"
echo "sandbox.seccomp = $tmp/bad.policy" >>"$tmp/www3.conf"
expect_fail "broken seccomp policy" \
  "$tmp/bad.policy:3: unknown directive 'bogus' (expected default, allow, deny, clone-flags or include)" \
  --test --config "$tmp/www3.conf"

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "all passed"
