"""Tier 1 (no systemd needed): php-pool socket-activated by systemd-socket-activate, talking
to a real NOTIFY_SOCKET. Every notification must come from the manager's pid (SCM_CREDENTIALS).

DESIGN.md "Listening", "systemd", "Signals". The tests of a class share one activated pool and
run in the order of their names (test_1_..., test_2_...).
"""

import os
import re
import signal
import statistics
import time
import unittest

from common import (Activated, harness, probe_tcp, probe_unix, wait_until, zombie_children)
from sdnotify import STATUS_RE

POOL = '''\
pm = static
pm.max_children = 2
php_admin_value[precision] = 11
'''


def monotonic_usec():
    return int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1000000)


class ActivationTest(unittest.TestCase):
    """One pool for the class: activation, sockets, STATUS, watchdog, reload, re-exec, stop."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = harness.make_tmp('php-pool-sd-')
        cls.php_ini = os.path.join(cls.tmp, 'php.ini')
        with open(cls.php_ini, 'w') as f:
            f.write('default_socket_timeout = 31\n')
        cls.pool = None
        try:
            cls.pool = Activated(cls.tmp, POOL, global_text='systemd_interval = 1',
                                 args=['-c', cls.php_ini], watchdog_usec=1000000)
        except BaseException:
            harness.remove_tmp(cls.tmp)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.pool:
                cls.pool.stop()
        finally:
            harness.remove_tmp(cls.tmp)

    def from_manager(self, messages):
        bad = [m for m in messages if m.pid != self.pool.pid]
        self.assertEqual(bad, [], 'notifications not from the manager (pid %d)' % self.pool.pid)

    def test_1_first_connection_starts_the_pool(self):
        # Nothing runs before the first connection: the process is still systemd-socket-activate.
        self.assertNotIn('php-pool', os.path.basename(self.pool.exe() or ''))
        self.assertEqual(self.pool.notify.snapshot(), [])
        j = probe_unix(self.pool.unix_path, 'ini=precision')
        self.assertEqual(j['ini']['precision'], '11')
        self.assertEqual(os.path.realpath(self.pool.exe()),
                         os.path.realpath(os.environ['PHP_POOL_BIN']))
        ready = self.pool.notify.wait_field('READY', '1')
        self.assertEqual(ready.pid, self.pool.pid)

    def test_2_unix_and_tcp_sockets_both_served(self):
        a = probe_unix(self.pool.unix_path)
        b = probe_tcp(self.pool.port)
        workers = harness.children_of(self.pool.pid)
        self.assertIn(a['pid'], workers)
        self.assertIn(b['pid'], workers)
        # `listen =` in the file is not bound, and says so
        self.assertFalse(os.path.exists(os.path.join(self.tmp, 'ignored.sock')))
        self.assertRegex(self.pool.log_text(), r"using 2 socket\(s\) from systemd; 'listen = "
                                               r".*ignored\.sock' is ignored")

    def test_3_status_in_php_fpm_wording(self):
        self.pool.notify.wait_field('STATUS', timeout=5)
        mark = self.pool.notify.mark()
        self.pool.notify.wait_field('STATUS', timeout=5, since=mark)  # systemd_interval = 1
        statuses = self.pool.notify.with_field('STATUS')
        self.assertGreaterEqual(len(statuses), 2)
        for m in statuses:
            self.assertRegex(m.fields['STATUS'], STATUS_RE)
        # a live summary: the two static workers, idle between requests
        self.pool.notify.wait_for(lambda m: 'Processes active: 0, idle: 2,' in
                                  m.fields.get('STATUS', ''), 5, what='an idle STATUS=')
        self.from_manager(statuses)

    def test_4_watchdog_at_half_the_period(self):
        # No request for 2.5 s first: the idle manager has fallen asleep (two quiet per-second
        # passes), and the pings must go on without its timers.
        time.sleep(2.5)
        mark = self.pool.notify.mark()
        time.sleep(3.2)
        pings = [m for m in self.pool.notify.snapshot()[mark:] if m.text == 'WATCHDOG=1']
        self.from_manager(pings)
        gaps = [b.at - a.at for a, b in zip(pings, pings[1:])]
        self.assertGreaterEqual(len(gaps), 4, pings)
        half = self.pool.watchdog_usec / 2e6
        self.assertAlmostEqual(statistics.median(gaps), half, delta=0.1 * half + 0.02, msg=gaps)
        self.assertLess(max(gaps), 0.75 * self.pool.watchdog_usec / 1e6, gaps)

    def test_5_reload_reloading_then_ready(self):
        self.pool.write_conf(POOL.replace('precision] = 11', 'precision] = 12'),
                             'systemd_interval = 1')
        mark = self.pool.notify.mark()
        before = monotonic_usec()
        self.pool.signal(signal.SIGHUP)
        reloading = self.pool.notify.wait_field('RELOADING', '1', since=mark)
        stamp = int(reloading.fields['MONOTONIC_USEC'])
        self.assertTrue(before <= stamp <= monotonic_usec(), (before, stamp))
        ready = self.pool.notify.wait_field('READY', '1', since=mark)
        self.assertGreater(ready.at, reloading.at)
        self.from_manager(self.pool.notify.snapshot()[mark:])
        self.assertEqual(probe_unix(self.pool.unix_path, 'ini=precision')['ini']['precision'],
                         '12')

    def test_6_broken_reload_keeps_serving(self):
        before = probe_unix(self.pool.unix_path, 'ini=precision')
        self.pool.write_conf('pm = static\npm.max_children = 2\npm = sometimes\n')
        mark = self.pool.notify.mark()
        self.pool.signal(signal.SIGHUP)
        reloading = self.pool.notify.wait_field('RELOADING', '1', since=mark)
        ready = self.pool.notify.wait_field('READY', '1', since=mark)
        self.assertGreater(ready.at, reloading.at)
        self.from_manager(self.pool.notify.snapshot()[mark:])
        wait_until(lambda: re.search(r'pool\.conf:\d+: ', self.pool.log_text()), 5,
                   what='the FILE:LINE error in the log')
        after = probe_unix(self.pool.unix_path, 'ini=precision')
        self.assertEqual(after['ini']['precision'], before['ini']['precision'])
        self.pool.write_conf(POOL.replace('precision] = 11', 'precision] = 12'),
                             'systemd_interval = 1')

    def test_7_php_ini_change_reexecutes_in_place(self):
        """A php.ini change needs a fresh engine: same pid (MAINPID), same sockets, the old
        workers reaped, notifications still from that pid, and the watchdog goes on."""
        old_workers = harness.children_of(self.pool.pid)
        self.assertEqual(probe_unix(self.pool.unix_path, 'ini=default_socket_timeout')
                         ['ini']['default_socket_timeout'], '31')
        with open(self.php_ini, 'w') as f:
            f.write('default_socket_timeout = 47\n')
        mark = self.pool.notify.mark()
        self.pool.signal(signal.SIGHUP)
        reloading = self.pool.notify.wait_field('RELOADING', '1', since=mark)
        ready = self.pool.notify.wait_field('READY', '1', since=mark)
        self.assertGreater(ready.at, reloading.at)
        wait_until(lambda: 'fresh PHP engine' in self.pool.log_text(), 5, what='the re-exec')
        for pid in old_workers:
            wait_until(lambda: not harness.pid_alive(pid), 10, what='old worker %d to go' % pid)
        self.assertEqual(zombie_children(self.pool.pid), [])
        j = probe_unix(self.pool.unix_path, 'ini=default_socket_timeout,precision')
        self.assertEqual(j['ini'], {'default_socket_timeout': '47', 'precision': '12'})
        self.assertEqual(probe_tcp(self.pool.port, 'ini=default_socket_timeout')
                         ['ini']['default_socket_timeout'], '47')
        self.assertNotIn(j['pid'], old_workers)
        # the watchdog pings on, from the same pid
        mark = self.pool.notify.mark()
        self.pool.notify.wait_for(lambda m: m.text == 'WATCHDOG=1', 2, since=mark)
        self.from_manager(self.pool.notify.snapshot())
        self.assertIn('re-executed with a fresh PHP engine', self.pool.log_text())

    def test_9_sigterm_sends_stopping(self):
        mark = self.pool.notify.mark()
        self.pool.signal(signal.SIGTERM)
        stopping = self.pool.notify.wait_field('STOPPING', '1', since=mark)
        self.assertEqual(stopping.pid, self.pool.pid)
        self.assertEqual(self.pool.wait_exit(15), 0)


if __name__ == '__main__':
    unittest.main(verbosity=2)
