#!/usr/bin/python3
"""Inside the container (tests/packaging/test_deb.py): the Debian package, installed with dpkg.

Runs as php-pool-test.service under a real systemd 252 booted from the host's root with a
tmpfs overlay (tests/systemd/container/run.py --volatile=overlay), so dpkg installs into the
root that systemd runs, with the host's dpkg database and libphp8.2-embed, and the host stays
untouched. The packages are in /opt/php-pool-deb. Each check writes PASS/FAIL to
/out/results.txt; the container exits with the number of failures (`systemctl exit`).

What an operator does after `apt install php-pool`: a php-fpm pool file in
/etc/php-pool/conf.d/site.conf, `systemctl enable --now php-pool@site.socket`, a PHP page
through /run/php-pool/site.sock. Then what the package promises besides: `systemd-analyze
verify` on the installed units, the D-Bus policy, the dpkg trigger that reloads running pools
when libphp8.2-embed is upgraded, log rotation with SIGUSR1, session cleanup, and purge.
"""

import glob
import json
import os
import socket
import subprocess
import sys
import time
import traceback

SRC = '/opt/php-pool-src'
sys.path.insert(0, os.path.join(SRC, 'tests', 'systemd'))
sys.path.insert(0, os.path.join(SRC, 'tests', 'integration'))
sys.path.insert(0, os.path.join(SRC, 'tests', 'systemd', 'container'))

from common import fcgi_over  # noqa: E402  (raw FastCGI client over a socket)
from harness import php_params  # noqa: E402
from checks import run, show, wait_until  # noqa: E402  (the real-systemd harness's helpers)

DEBS = '/opt/php-pool-deb'
OUT = '/out'
WWW = '/srv/site'
EMBED_CONF_D = '/etc/php/8.2/embed/conf.d'
SESSIONS = '/var/lib/php/sessions'

# A php-fpm pool file as an operator migrates it: [www] kept, `listen` ignored (the socket
# unit owns /run/php-pool/site.sock).
POOL = '''\
[www]
user = www-data
group = www-data
listen = /run/php/php8.2-fpm.sock
pm = static
pm.max_children = 2
; $pool would be the section name (www), as in php-fpm: name the site
access.log = /var/log/php-pool/site.access.log
php_value[session.save_path] = /var/lib/php/sessions
php_value[session.gc_maxlifetime] = 300
'''

PAGE = '''<?php
header('Content-Type: application/json');
echo json_encode(['sapi' => php_sapi_name(), 'pid' => getmypid(),
                  'precision' => ini_get('precision'), 'hello' => 'from php-pool']);
'''

failures = 0


def say(line):
    with open(os.path.join(OUT, 'results.txt'), 'a') as f:
        f.write(line + '\n')
    print(line, flush=True)


def page(uri='index.php'):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect('/run/php-pool/site.sock')
        status, body = fcgi_over(s, php_params(uri, docroot=WWW), 30)
    if status != 200:
        raise AssertionError('GET /%s answered %d: %r' % (uri, status, body[:300]))
    return json.loads(body)


def check(fn):
    global failures
    t0 = time.monotonic()
    try:
        note = fn()
        say('PASS %s (%.1fs)%s' % (fn.__name__, time.monotonic() - t0,
                                   ': ' + note if note else ''))
        return True
    except Exception as e:  # noqa: BLE001  (every failure is reported, the run goes on)
        failures += 1
        say('FAIL %s: %s' % (fn.__name__, e))
        with open(os.path.join(OUT, 'failures.txt'), 'a') as f:
            f.write('== %s\n%s\n' % (fn.__name__, traceback.format_exc()))
        return False


def dpkg_install_php_pool():
    # The host's build tools block service starts with a policy-rc.d (scripts/install-deps.sh);
    # a real system has none, and deb-systemd-invoke would refuse the trigger's reload.
    if os.path.exists('/usr/sbin/policy-rc.d'):
        os.unlink('/usr/sbin/policy-rc.d')
    debs = sorted(d for d in glob.glob(DEBS + '/php-pool_*.deb'))
    if len(debs) != 1:
        raise AssertionError('expected one php-pool_*.deb in %s: %r' % (DEBS, debs))
    out = run('dpkg', '-i', debs[0]).stdout
    status = run('dpkg-query', '-W', '-f=${Status} ${Version}', 'php-pool').stdout
    if not status.startswith('install ok installed'):
        raise AssertionError('dpkg-query: %s' % status)
    for path in ('/usr/sbin/php-pool', '/lib/systemd/system/php-pool@.service',
                 '/usr/share/dbus-1/system.d/org.phppool.Pool1.conf',
                 '/usr/share/php-pool/seccomp/default.policy', '/etc/logrotate.d/php-pool'):
        if not os.path.exists(path):
            raise AssertionError('%s is not installed' % path)
    # dh_installsystemd: the timer is enabled and started, the templates are left alone.
    if run('systemctl', 'is-enabled', 'php-pool-sessionclean.timer', check=False
           ).stdout.strip() != 'enabled' or show('php-pool-sessionclean.timer',
                                                 'ActiveState') != 'active':
        raise AssertionError('php-pool-sessionclean.timer is not enabled and active')
    return '%s; %s' % (status, out.strip().splitlines()[-1])


def units_verify():
    units = ['php-pool@site.socket', 'php-pool@site.service', 'php-pool-sessionclean.service',
             'php-pool-sessionclean.timer']
    # With the package's man pages installed, Documentation= is checked too (no --man=no).
    r = run('systemd-analyze', 'verify', '--no-pager', *units, check=False)
    if r.returncode != 0 or r.stdout.strip():
        raise AssertionError('systemd-analyze verify (rc %d):\n%s' % (r.returncode, r.stdout))
    return ' '.join(units)


def enable_now_and_get_a_page():
    os.makedirs(WWW, exist_ok=True)
    with open(WWW + '/index.php', 'w') as f:
        f.write(PAGE)
    with open('/etc/php-pool/conf.d/site.conf', 'w') as f:
        f.write(POOL)
    run('php-pool', '--test', '--config', '/etc/php-pool/conf.d/site.conf')
    run('systemctl', 'enable', '--now', 'php-pool@site.socket')
    if show('php-pool@site.service', 'ActiveState') != 'inactive':
        raise AssertionError('the service started before the first connection')
    j = page()
    if j['sapi'] != 'fpm-fcgi' or j['hello'] != 'from php-pool':
        raise AssertionError('page: %r' % j)
    main = int(show('php-pool@site.service', 'MainPID'))
    exe = os.readlink('/proc/%d/exe' % main) if main > 0 else ''
    if exe != '/usr/sbin/php-pool':
        raise AssertionError('the pool runs %r, not the installed /usr/sbin/php-pool' % exe)
    if run('systemctl', 'is-enabled', 'php-pool@site.socket').stdout.strip() != 'enabled':
        raise AssertionError('php-pool@site.socket is not enabled')
    return 'worker %d answered %r; manager %d runs %s' % (j['pid'], j['hello'], main, exe)


def status_over_dbus_with_the_installed_policy():
    def status():
        r = run('php-pool', '--status', 'site', '--format', 'json', check=False)
        return r.stdout if r.returncode == 0 else None
    text = wait_until(status, 10, 'php-pool --status site')
    j = json.loads(text)
    # Read access for anyone: the policy's default context (nobody is not root).
    r = run('setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', 'busctl',
            '--system', 'get-property', 'org.phppool.Pool1.site', '/org/phppool/Pool1',
            'org.phppool.Pool1', 'Pool', check=False)
    if r.stdout.strip() != 's "site"':
        raise AssertionError('busctl get-property as nobody: %s' % r.stdout)
    return 'pool %r, %s processes; nobody reads Pool = %s' % (j.get('pool'),
                                                             j.get('total processes'),
                                                             r.stdout.strip())


def libphp_upgrade_reloads_the_running_pool():
    before = page()
    main = int(show('php-pool@site.service', 'MainPID'))
    # An ini the running engine does not have yet, then the libphp8.2-embed package unpacked
    # again (the host's own .deb, as a security update would be): the file trigger on
    # /usr/lib/libphp8.2.so fires and php-pool's postinst reloads the running pools.
    with open(EMBED_CONF_D + '/99-php-pool-trigger-test.ini', 'w') as f:
        f.write('precision = 7\n')
    version = run('dpkg-query', '-W', '-f=${Version}', 'libphp8.2-embed').stdout.strip()
    cached = glob.glob('/var/cache/apt/archives/libphp8.2-embed_%s_*.deb'
                       % version.replace(':', '%3a'))
    if cached:
        how = 'dpkg -i %s' % os.path.basename(cached[0])
        out = run('dpkg', '-i', cached[0]).stdout
    else:  # no cached .deb: activate the same trigger as phpenmod's maintscript helper does
        how = 'dpkg-trigger %s' % EMBED_CONF_D
        run('dpkg-trigger', '--no-await', EMBED_CONF_D)
        out = run('dpkg', '--triggers-only', '--pending').stdout
    if 'Processing triggers for php-pool' not in out:
        raise AssertionError('%s did not trigger php-pool:\n%s' % (how, out))
    after = wait_until(lambda: (lambda j: j if j['precision'] == '7' else None)(page()), 30,
                       'precision 7 from a fresh engine')
    if int(show('php-pool@site.service', 'MainPID')) != main:
        raise AssertionError('the manager was restarted, not reloaded in place')
    if show('php-pool@site.service', 'NRestarts') != '0':
        raise AssertionError('the service restarted')
    return '%s: precision %s -> %s, manager %d kept (re-executed), worker %d -> %d' % (
        how, before['precision'], after['precision'], main, before['pid'], after['pid'])


def logrotate_reopens_the_access_log():
    log = '/var/log/php-pool/site.access.log'
    page()
    wait_until(lambda: os.path.exists(log) and os.path.getsize(log) > 0, 10, 'an access log')
    run('logrotate', '-f', '/etc/logrotate.d/php-pool')
    if not os.path.exists(log + '.1'):
        raise AssertionError('no %s.1 after logrotate -f: %s' % (log, os.listdir(os.path.dirname(log))))

    def fresh_line():
        page()
        return os.path.exists(log) and os.path.getsize(log) > 0
    wait_until(fresh_line, 15, 'requests logged into a new %s' % log, interval=0.3)
    return 'rotated to %s.1 (%d bytes); new requests in a new file' % (
        log, os.path.getsize(log + '.1'))


def sessionclean_deletes_only_stale_sessions():
    old = os.path.join(SESSIONS, 'sess_phppooltestold')
    new = os.path.join(SESSIONS, 'sess_phppooltestnew')
    for p in (old, new):
        with open(p, 'w') as f:
            f.write('a|i:1;')
    ten_minutes_ago = time.time() - 600  # the pool's gc_maxlifetime is 300 s
    os.utime(old, (ten_minutes_ago, ten_minutes_ago))
    run('systemctl', 'start', 'php-pool-sessionclean.service')
    left = (os.path.exists(old), os.path.exists(new))
    for p in (old, new):
        if os.path.exists(p):
            os.unlink(p)
    if left != (False, True):
        raise AssertionError('after the cleaner: old exists %s, new exists %s' % left)
    return 'a 10-minute-old session deleted (gc_maxlifetime 300), a fresh one kept'


def purge_removes_the_package():
    run('systemctl', 'disable', '--now', 'php-pool@site.socket')
    run('systemctl', 'stop', 'php-pool@site.service')
    run('dpkg', '--purge', 'php-pool')
    gone = [p for p in ('/usr/sbin/php-pool', '/lib/systemd/system/php-pool@.service',
                        '/etc/logrotate.d/php-pool', '/var/log/php-pool') if os.path.exists(p)]
    if gone:
        raise AssertionError('left after purge: %s' % gone)
    if not os.path.exists('/etc/php-pool/conf.d/site.conf'):
        raise AssertionError("purge removed the administrator's pool file")
    return 'files gone, /etc/php-pool/conf.d/site.conf kept'


def main():
    steps = [dpkg_install_php_pool, units_verify, enable_now_and_get_a_page,
             status_over_dbus_with_the_installed_policy, libphp_upgrade_reloads_the_running_pool,
             logrotate_reopens_the_access_log, sessionclean_deletes_only_stale_sessions,
             purge_removes_the_package]
    for i, step in enumerate(steps):
        if not check(step) and i < 3:  # nothing else can run without the installed package
            break
    say('DONE %d failed' % failures)
    with open(os.path.join(OUT, 'journal.txt'), 'w') as f:
        f.write(run('journalctl', '--no-pager', '-b', check=False).stdout)
    subprocess.run(['systemctl', 'exit', str(min(failures, 99))])


if __name__ == '__main__':
    main()
