#!/usr/bin/python3
"""Tier 2: php-pool's units under a real systemd, in a throw-away container.

    run.py --build BUILD_DIR [--keep]

Boots this machine's own /usr with systemd-nspawn (--volatile=yes: / and /etc are an empty
tmpfs, /usr is read-only) into basic.target plus php-pool-test.service, which runs checks.py:
it installs the build's units and two sites, checks socket activation, reload under load,
worker and manager crashes, the watchdog, stop, and `systemd-analyze verify`/`security`, and
ends the container with `systemctl exit <failures>`. So nspawn's exit status is the verdict:
0 passes. Results: OUT/results.txt (printed), OUT/journal.txt, OUT/failures.txt.

Pitfalls this avoids: without --register=no --keep-unit nspawn wants a host bus (machined);
without masking systemd-firstboot it waits for a key; without systemd.unit=basic.target the
container starts every service the host has enabled. From the host, the container's sockets
are under /proc/LEADER/root/run/... if needed for debugging (--keep keeps OUT).

Other checks reuse the same boot (tests/packaging/test_deb.py): --checks names a script of the
source tree to run instead of checks.py, --bind-ro DIR:PATH binds more directories, and
--volatile=overlay boots the host's whole root (its /etc and dpkg database too) under a
writable tmpfs overlay, where a package can really be installed with dpkg and the host stays
untouched (nspawn refuses its own --volatile=overlay on /: this mounts the overlay itself).

Exit status: 0 pass, 1 fail, 77 skipped (not root, no systemd-nspawn: meson's "skip").
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
NSPAWN = shutil.which('systemd-nspawn') or '/usr/bin/systemd-nspawn'
TIMEOUT = 200  # seconds for boot, checks and shutdown


def skip(why):
    print('SKIP: ' + why)
    sys.exit(77)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True, help='the meson build directory')
    ap.add_argument('--keep', action='store_true', help='keep the output directory')
    ap.add_argument('--checks', default='tests/systemd/container/checks.py',
                    help='the script to run inside, relative to the source tree')
    ap.add_argument('--volatile', choices=('yes', 'overlay'), default='yes')
    ap.add_argument('--bind-ro', action='append', default=[], metavar='DIR:PATH')
    args = ap.parse_args()
    build = os.path.abspath(args.build)

    if os.geteuid() != 0:
        skip('needs root (systemd-nspawn)')
    if not os.access(NSPAWN, os.X_OK):
        skip('systemd-nspawn is not installed (Debian package systemd-container)')
    for f in ('src/php-pool', 'units/php-pool@.service'):
        if not os.path.exists(os.path.join(build, f)):
            sys.exit('missing %s in the build directory %s' % (f, build))

    work = tempfile.mkdtemp(prefix='php-pool-nspawn-')
    out = os.path.join(work, 'out')
    os.makedirs(out)
    os.chmod(work, 0o755)
    unit = os.path.join(work, 'php-pool-test.service')
    with open(os.path.join(HERE, 'php-pool-test.service')) as f:
        text = f.read().replace('@CHECKS@', '/opt/php-pool-src/' + args.checks)
    with open(unit, 'w') as f:
        f.write(text)

    root, volatile = '/', ['--volatile=yes']
    if args.volatile == 'overlay':
        root, volatile = overlay_of_host_root(work), []
    argv = [NSPAWN, '--quiet', '--register=no', '--keep-unit', '--console=passive',
            '--private-network', '-D', root] + volatile + [
            '--bind-ro=%s:/opt/php-pool-build' % build,
            # the source tree: checks.py, the probe script, units/, policy/ (not at its own
            # path: under /tmp it would be hidden by the container's own /tmp)
            '--bind-ro=%s:/opt/php-pool-src' % SRC,
            '--bind=%s:/out' % out]
    argv += ['--bind-ro=' + b for b in args.bind_ro]
    if args.volatile == 'yes':
        # /etc is an empty tmpfs: users (www-data, messagebus) and PHP's php.ini/conf.d
        argv += ['--bind-ro=/etc/passwd', '--bind-ro=/etc/group', '--bind-ro=/etc/php']
    argv += ['--bind-ro=%s:/etc/systemd/system/php-pool-test.service' % unit,
            '-b', 'systemd.unit=basic.target', 'systemd.wants=php-pool-test.service',
            'systemd.mask=systemd-firstboot.service']
    if args.volatile == 'yes' and os.path.exists('/etc/nsswitch.conf'):
        argv.insert(-4, '--bind-ro=/etc/nsswitch.conf')
    console = os.path.join(work, 'console.log')
    try:
        rc, elapsed = boot(argv, console)
    finally:
        for mnt in ([root, os.path.join(work, 'layers')] if root != '/' else []):
            if subprocess.run(['umount', mnt]).returncode != 0:
                subprocess.run(['umount', '--lazy', mnt])

    report(args, work, out, console, rc, elapsed)


def overlay_of_host_root(work):
    """WORK/root: / (one file system here) under a writable tmpfs; lower and upper layers do
    not overlap because the upper one is a tmpfs of its own."""
    layers, root = os.path.join(work, 'layers'), os.path.join(work, 'root')
    os.makedirs(layers)
    os.makedirs(root)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'mode=0755', 'php-pool-layers', layers],
                   check=True)
    os.makedirs(os.path.join(layers, 'upper'))
    os.makedirs(os.path.join(layers, 'work'))
    subprocess.run(['mount', '-t', 'overlay', 'php-pool-root', '-o',
                    'lowerdir=/,upperdir=%s/upper,workdir=%s/work' % (layers, layers), root],
                   check=True)
    return root


def boot(argv, console):
    t0 = time.monotonic()
    with open(console, 'wb') as con:
        # nspawn forwards the container's console through epoll: its stdout must be a pipe (a
        # regular file cannot be polled, the console then fills up and PID 1 blocks on it).
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        copier = threading.Thread(target=shutil.copyfileobj, args=(proc.stdout, con),
                                  daemon=True)
        copier.start()
        try:
            rc = proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            print('container still running after %ds: stopping it' % TIMEOUT)
            proc.send_signal(signal.SIGTERM)  # nspawn: power the container off
            try:
                rc = proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            rc = rc or 1
        copier.join(10)
    return rc, time.monotonic() - t0


def report(args, work, out, console, rc, elapsed):
    def show(name):
        p = os.path.join(out, name)
        if os.path.exists(p):
            with open(p, errors='replace') as f:
                return f.read()
        return ''

    print(show('results.txt') or '(no results: the checks did not run)')
    print('container exit status %d after %.1fs' % (rc, elapsed))
    passed = rc == 0 and 'DONE 0 failed' in show('results.txt')
    if not passed:
        print('--- failures ---\n' + show('failures.txt'))
        print('--- journal (tail) ---\n' + show('journal.txt')[-12000:])
        with open(console, errors='replace') as f:
            print('--- console (tail) ---\n' + f.read()[-4000:])
    mounted = [d for d in ('root', 'layers') if os.path.ismount(os.path.join(work, d))]
    if args.keep or not passed or mounted:  # never delete through a mounted overlay
        print('kept: %s' % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if passed else 1)


if __name__ == '__main__':
    main()
