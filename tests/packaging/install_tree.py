#!/usr/bin/python3
"""`meson install` into a temporary DESTDIR puts every file where the units and man pages say.

    install_tree.py BUILD_DIR

Checks, under the build's own prefix: the binary in sbindir; the units in the systemd unit
directory with ExecStart=/ExecReload= naming the installed binary and Documentation= naming
installed man pages; the D-Bus policy under dbus-1/system.d (well-formed XML); the seccomp
policies in datadir/php-pool/seccomp; the example pool files; logrotate; the session cleaner;
the man pages; every path a man page's FILES section names; and nothing installed elsewhere.
(systemd-analyze verify needs a real root: tests/packaging/deb_checks.py runs it on the
installed package.)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SRC = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
failures = []


def check(ok, what):
    print(('PASS ' if ok else 'FAIL ') + what)
    if not ok:
        failures.append(what)


def introspect(build, what):
    return json.loads(subprocess.run(['meson', 'introspect', build, what], check=True,
                                     capture_output=True, text=True).stdout)


def main():
    build = os.path.abspath(sys.argv[1])
    opts = {o['name']: o['value'] for o in introspect(build, '--buildoptions')}
    installed = introspect(build, '--installed')
    prefix = opts['prefix']

    def under(opt, *parts):
        d = opts[opt]
        return os.path.join(d if os.path.isabs(d) else os.path.join(prefix, d), *parts)

    unitdir = os.path.dirname(installed[os.path.join(SRC, 'units', 'php-pool@.socket')])
    sbin = under('sbindir', 'php-pool')
    cleaner = under('libexecdir', 'php-pool', 'php-pool-sessionclean')
    examples = under('datadir', 'doc', 'php-pool', 'examples')
    expected = {
        sbin: 0o755,
        cleaner: 0o755,
        under('datadir', 'dbus-1', 'system.d', 'org.phppool.Pool1.conf'): 0o644,
        under('datadir', 'php-pool', 'seccomp', 'default.policy'): 0o644,
        under('datadir', 'php-pool', 'seccomp', 'strict.policy'): 0o644,
        '/etc/logrotate.d/php-pool': 0o644,
        under('mandir', 'man8', 'php-pool.8'): 0o644,
        under('mandir', 'man5', 'php-pool.conf.5'): 0o644,
        under('mandir', 'man8', 'php-pool-dbus.8'): 0o644,
        under('mandir', 'man8', 'php-pool@.service.8'): 0o644,
    }
    for unit in ('php-pool@.socket', 'php-pool@.service', 'php-pool-sessionclean.service',
                 'php-pool-sessionclean.timer'):
        expected[os.path.join(unitdir, unit)] = 0o644
    for ex in ('site.conf', 'demo.conf', 'nginx-site.conf', 'nginx-upstream.conf',
               'apache-site.conf', 'Caddyfile'):
        expected[os.path.join(examples, ex)] = 0o644

    with tempfile.TemporaryDirectory(prefix='php-pool-destdir-') as dest:
        r = subprocess.run(['meson', 'install', '-C', build, '--no-rebuild', '--quiet',
                            '--destdir', dest], capture_output=True, text=True)
        check(r.returncode == 0, 'meson install --destdir (rc %d) %s' % (r.returncode,
                                                                       r.stderr.strip()))
        at = lambda p: dest + p  # noqa: E731

        for path, mode in sorted(expected.items()):
            st = os.stat(at(path)) if os.path.isfile(at(path)) else None
            check(st is not None and (st.st_mode & 0o777) == mode,
                  'installed %s mode %o' % (path, mode))
        check(os.path.isdir(at('/etc/php-pool/conf.d')), 'installed /etc/php-pool/conf.d/')

        # Full RELRO (meson.build): a read-only GOT, every symbol bound at start, so a forked
        # worker never runs the lazy binder.
        if os.path.isfile(at(sbin)):
            elf = subprocess.run(['readelf', '-W', '--dynamic', '--program-headers', at(sbin)],
                                 capture_output=True, text=True).stdout
            check('GNU_RELRO' in elf and re.search(r'\(FLAGS\)\s+BIND_NOW', elf) is not None,
                  'installed %s has full RELRO (GNU_RELRO, BIND_NOW)' % sbin)

        files = set()
        for root, _, names in os.walk(dest):
            files.update(os.path.join(root, n)[len(dest):] for n in names)
        extra = sorted(files - set(expected))
        check(not extra, 'nothing else installed %s' % (extra or ''))

        # The units name what is installed: binaries and man pages.
        for unit in ('php-pool@.service', 'php-pool-sessionclean.service',
                     'php-pool@.socket', 'php-pool-sessionclean.timer'):
            text = open(at(os.path.join(unitdir, unit))).read()
            for line in re.findall(r'^Exec\w+=(\S+)', text, re.M):
                check(os.access(at(line), os.X_OK), '%s: %s is installed' % (unit, line))
            for sec, page in re.findall(r'man:([\w.@-]+)\((\d)\)', text):
                path = under('mandir', 'man' + page, '%s.%s' % (sec, page))
                check(os.path.isfile(at(path)), '%s: Documentation man:%s(%s)' % (unit, sec,
                                                                                  page))
        service = open(at(os.path.join(unitdir, 'php-pool@.service'))).read()
        check('ExecStart=%s --config /etc/php-pool/conf.d/%%i.conf --instance %%i' % sbin
              in service, 'ExecStart= runs the installed binary on /etc/php-pool/conf.d/%i.conf')
        check('ExecReload=%s --reload %%i' % sbin in service, 'ExecReload= is --reload %i')
        cleaner_text = open(at(cleaner)).read()
        check(not re.search(r'@[a-z]+@', cleaner_text), 'session cleaner fully configured')

        try:
            ET.parse(at(under('datadir', 'dbus-1', 'system.d', 'org.phppool.Pool1.conf')))
            check(True, 'D-Bus policy is well-formed XML')
        except ET.ParseError as e:
            check(False, 'D-Bus policy is well-formed XML: %s' % e)

        # Every path the man pages' FILES sections name, with /usr read as the build's prefix
        # and /lib/systemd/system as its unit directory.
        for page in sorted(p for p in os.listdir(os.path.join(SRC, 'man')) if p[-1].isdigit()):
            text = open(os.path.join(SRC, 'man', page)).read().replace('\\-', '-')
            m = re.search(r'^\.SH FILES\n(.*?)(?=^\.SH )', text, re.M | re.S)
            if not m:
                continue
            for path in re.findall(r'^\.I[RB]? (/\S+)', m.group(1), re.M):
                if (path.startswith(('/run/', '/var/', '/etc/php/')) or 'SITE' in path
                        or '%' in path):
                    continue  # created at run time, by the administrator, or by libphp
                real = path
                if path.startswith('/lib/systemd/system/'):
                    real = os.path.join(unitdir, os.path.basename(path))
                elif path.startswith('/usr/'):
                    real = os.path.join(prefix, path[len('/usr/'):])
                real = real.rstrip('/')
                check(os.path.exists(at(real)), '%s FILES: %s installed (%s)' % (page, path,
                                                                                 real))

    print('%d failed' % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
