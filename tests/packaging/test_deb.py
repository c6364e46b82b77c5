#!/usr/bin/python3
"""The Debian package: built from a copy of this tree, linted, installed and run under systemd.

    test_deb.py --build BUILD_DIR [--keep]

1. packaging/build-deb.sh builds php-pool_*.deb with dpkg-buildpackage
   (DEB_BUILD_OPTIONS="nocheck parallel=2": the suite that runs this test is not run again);
2. lintian on the .deb: no error (the overrides in packaging/debian explain the rest);
3. tests/systemd/container/run.py boots a real systemd from the host's root with a tmpfs
   overlay and runs deb_checks.py, which installs the .deb with dpkg and serves a PHP page
   through `systemctl enable --now php-pool@site.socket`, then checks the trigger, logrotate,
   session cleanup and purge.

Exit status 77 (skipped) without root, systemd-nspawn, dpkg-buildpackage or debhelper.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, '..', '..'))


def skip(why):
    print('SKIP: ' + why)
    sys.exit(77)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('--debs', help='use the packages in DIR instead of building them')
    args = ap.parse_args()
    if os.geteuid() != 0:
        skip('needs root (systemd-nspawn, dpkg in the container)')
    for tool, pkg in (('dpkg-buildpackage', 'dpkg-dev'), ('dh', 'debhelper'),
                      ('systemd-nspawn', 'systemd-container'), ('lintian', 'lintian')):
        if not shutil.which(tool):
            skip('%s is not installed (Debian package %s)' % (tool, pkg))

    work = tempfile.mkdtemp(prefix='php-pool-deb-test-')
    os.chmod(work, 0o755)
    ok = False
    try:
        ok = build_lint_install(args, work)
    finally:
        if args.keep or not ok:
            print('kept: %s' % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


def build_lint_install(args, work):
    debs = os.path.abspath(args.debs) if args.debs else os.path.join(work, 'debs')
    if not args.debs:
        t0 = time.monotonic()
        env = dict(os.environ, DEB_BUILD_OPTIONS='nocheck parallel=2', TMPDIR=work)
        r = subprocess.run(['sh', os.path.join(SRC, 'packaging', 'build-deb.sh'), debs],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        if r.returncode != 0:
            print(r.stdout[-8000:])
            print('FAIL dpkg-buildpackage (rc %d)' % r.returncode)
            return False
        print('PASS dpkg-buildpackage (%.0fs)' % (time.monotonic() - t0))
    deb = [d for d in os.listdir(debs) if d.startswith('php-pool_') and d.endswith('.deb')]
    if len(deb) != 1:
        print('FAIL expected one php-pool_*.deb in %s: %s' % (debs, deb))
        return False

    t0 = time.monotonic()
    r = subprocess.run(['lintian', '--fail-on', 'error', '--display-level', '>=warning',
                        os.path.join(debs, deb[0])], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    tags = [line for line in r.stdout.splitlines() if line[:2] in ('E:', 'W:')]
    print('\n'.join(tags))
    if r.returncode != 0 or any(t.startswith('E:') for t in tags):
        print('FAIL lintian (rc %d)' % r.returncode)
        return False
    print('PASS lintian: no error, %d warnings (%.0fs)' % (len(tags), time.monotonic() - t0))

    r = subprocess.run([sys.executable, os.path.join(SRC, 'tests', 'systemd', 'container',
                                                     'run.py'),
                        '--build', args.build, '--volatile', 'overlay',
                        '--checks', 'tests/packaging/deb_checks.py',
                        '--bind-ro', '%s:/opt/php-pool-deb' % debs]
                       + (['--keep'] if args.keep else []))
    return r.returncode == 0


if __name__ == '__main__':
    main()
