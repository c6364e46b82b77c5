#!/usr/bin/python3
"""php-pool-sessionclean (the script php-pool-sessionclean.service runs), on pool files and a
php.ini in a temporary directory, with the built php-pool computing the pools' settings.

    test_sessionclean.py SCRIPT PHP_POOL

- pool a: php_value[session.gc_maxlifetime] = 120 in its pool file: a 5-minute-old session goes,
  a fresh one stays;
- pool b: no lifetime of its own: php.ini says 600, its conf.d/*.ini 900 (read after it, so
  900 holds); save_path "1;/dir" (subdirectory levels): a 5-minute-old session stays, a
  20-minute-old one in a subdirectory goes; files not named sess_* stay;
- pool c: session.save_handler = redis: its directory is left alone;
- a pool file that does not pass --test is skipped with a message, the others are cleaned.
"""
import os
import subprocess
import sys
import tempfile
import time


def main():
    script, php_pool = sys.argv[1], sys.argv[2]
    failures = []
    # Not under /tmp or /var/tmp: the cleaner reaches those only inside a running pool's
    # PrivateTmp= (through its manager's /proc/PID/root).
    base = os.path.dirname(os.path.abspath(script))
    with tempfile.TemporaryDirectory(prefix='sessionclean-test-', dir=base) as tmp:
        conf, ini = os.path.join(tmp, 'conf.d'), os.path.join(tmp, 'embed')
        dirs = {n: os.path.join(tmp, 'sessions-' + n) for n in 'abc'}
        for d in [conf, os.path.join(ini, 'conf.d'), os.path.join(dirs['b'], '7')] + list(
                dirs.values()):
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(ini, 'php.ini'), 'w') as f:
            f.write('[Session]\nsession.save_handler = files\n'
                    'session.gc_maxlifetime = 600 ; seconds\n')
        with open(os.path.join(ini, 'conf.d', '20-site.ini'), 'w') as f:
            f.write('session.gc_maxlifetime = "900"\n')
        pools = {
            'a': 'php_value[session.save_path] = %s\nphp_value[session.gc_maxlifetime] = 120\n'
                 % dirs['a'],
            'b': 'php_admin_value[session.save_path] = "1;%s"\n' % dirs['b'],
            'c': 'php_value[session.save_handler] = redis\nphp_value[session.save_path] = %s\n'
                 % dirs['c'],
            'broken': 'pm = sometimes\n',
        }
        for name, extra in pools.items():
            with open(os.path.join(conf, name + '.conf'), 'w') as f:
                f.write('[%s]\nlisten = %s/%s.sock\npm = static\npm.max_children = 1\n%s'
                        % (name, tmp, name, extra))

        def session(path, age_minutes):
            with open(path, 'w') as f:
                f.write('n|i:1;')
            t = time.time() - age_minutes * 60
            os.utime(path, (t, t))
            return path

        expect = {
            session(os.path.join(dirs['a'], 'sess_old'), 5): False,
            session(os.path.join(dirs['a'], 'sess_new'), 0): True,
            session(os.path.join(dirs['b'], 'sess_5min'), 5): True,
            session(os.path.join(dirs['b'], '7', 'sess_20min'), 20): False,
            session(os.path.join(dirs['b'], 'notes_20min'), 20): True,
            session(os.path.join(dirs['c'], 'sess_20min'), 20): True,
        }
        env = dict(os.environ, PHP_POOL_CONF_DIR=conf, PHP_POOL_INI_DIR=ini,
                   PHP_POOL_BIN=php_pool, PATH='/usr/sbin:/usr/bin:/sbin:/bin')
        r = subprocess.run(['sh', script], env=env, capture_output=True, text=True, timeout=60)
        print(r.stdout + r.stderr, end='')
        if r.returncode != 0:
            failures.append('exit status %d' % r.returncode)
        if 'broken.conf' not in r.stderr:
            failures.append('the broken pool file was not reported')
        for path, kept in sorted(expect.items()):
            ok = os.path.exists(path) == kept
            print('%s %s %s' % ('PASS' if ok else 'FAIL', 'kept' if kept else 'deleted',
                                os.path.relpath(path, tmp)))
            if not ok:
                failures.append(path)
    print('%d failed' % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
