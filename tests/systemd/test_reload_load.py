"""Tier 1 (no systemd needed): zero-drop reload. A load generator hammers the pool through
nginx while the pool is reloaded ten times (SIGHUP), alternately with a pool-file change (new
workers from the same engine) and a php.ini change (the manager re-executes itself for a fresh
engine, same pid, sockets and old workers handed over). Not one request may fail, and each new
setting must be in effect once READY=1 follows RELOADING=1.
"""

import json
import os
import signal
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from common import WWW, harness, wait_until, zombie_children
from sdnotify import NotifyListener

RELOADS = 10
THREADS = 12

# php_value, not php_admin_value: a changed admin value re-executes the manager (opcache), and
# half of the reloads here are meant to take the path without a re-exec.
POOL = '''\
pm = static
pm.max_children = 4
php_value[precision] = {precision}
'''


class Load:
    """THREADS clients in a loop until stopped; every answer is checked."""

    def __init__(self, nginx):
        self.nginx = nginx
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.failures = []
        self.pool = ThreadPoolExecutor(THREADS)
        self.futures = [self.pool.submit(self.client) for _ in range(THREADS)]

    def client(self):
        while not self.stop.is_set():
            try:
                r = self.nginx.request('GET', '/probe.php?ini=precision', timeout=30)
                good = r.status == 200 and 'precision' in json.loads(r.body)['ini']
                failure = None if good else (r.status, r.body[:300])
            except Exception as e:  # a refused or reset connection is a failure too
                failure = repr(e)
            with self.lock:
                if failure is None:
                    self.ok += 1
                else:
                    self.failures.append(failure)

    def finish(self):
        self.stop.set()
        for f in self.futures:
            f.result(60)
        self.pool.shutdown()


class ZeroDropReloadTest(unittest.TestCase):

    def setUp(self):
        harness.require_tools()
        self.tmp = harness.make_tmp('php-pool-sd-load-')
        self.addCleanup(harness.remove_tmp, self.tmp)
        self.php_ini = os.path.join(self.tmp, 'php.ini')
        self.write_php_ini(30)
        self.notify = NotifyListener(os.path.join(self.tmp, 'notify.sock'))
        self.addCleanup(self.notify.close)
        self.backend = harness.PhpPool(self.tmp, POOL.format(precision=10),
                                       extra_env={'NOTIFY_SOCKET': self.notify.path},
                                       ini_args=['-c', self.php_ini])
        self.addCleanup(self.backend.stop)
        self.nginx = harness.Nginx(self.tmp, self.backend.socket_path, WWW)
        self.addCleanup(self.nginx.stop)
        self.notify.wait_field('READY', '1')

    def write_php_ini(self, timeout):
        with open(self.php_ini, 'w') as f:
            f.write('default_socket_timeout = %d\n' % timeout)

    def write_pool(self, precision):
        text = self.backend.pool_text.replace('php_value[precision] = 10',
                                              'php_value[precision] = %d' % precision)
        with open(self.backend.conf_path, 'w') as f:
            f.write(text)

    def probe(self):
        r = self.nginx.request('GET', '/probe.php?ini=precision,default_socket_timeout')
        self.assertEqual(r.status, 200, r)
        return json.loads(r.body)

    def test_ten_reloads_under_load_lose_nothing(self):
        manager = self.backend.pid
        load = Load(self.nginx)
        try:
            time.sleep(0.5)
            expect = {'precision': '10', 'default_socket_timeout': '30'}
            for i in range(RELOADS):
                if i % 2 == 0:
                    expect['precision'] = str(11 + i)
                    self.write_pool(11 + i)
                else:
                    expect['default_socket_timeout'] = str(31 + i)
                    self.write_php_ini(31 + i)  # needs a fresh engine: re-exec
                mark = self.notify.mark()
                os.kill(manager, signal.SIGHUP)
                reloading = self.notify.wait_field('RELOADING', '1', since=mark)
                ready = self.notify.wait_field('READY', '1', since=mark, timeout=20)
                self.assertGreater(ready.at, reloading.at)
                self.assertEqual({m.pid for m in self.notify.snapshot()[mark:]}, {manager})
                # the new settings answer as soon as the pool says it is ready
                self.assertEqual(self.probe()['ini'], expect, 'after reload %d' % (i + 1))
                time.sleep(0.3)
        finally:
            load.finish()
        log = self.backend.log_text()
        self.assertEqual(load.failures, [], 'failed requests during reloads; log:\n' + log[-3000:])
        self.assertGreater(load.ok, 100, 'the load generator barely ran')
        self.assertEqual(self.backend.pid, manager)
        self.assertTrue(self.backend.alive())
        self.assertEqual(log.count('re-executing for a fresh PHP engine'), RELOADS // 2, log)
        # every old worker was reaped: only the current static workers remain
        wait_until(lambda: len(harness.children_of(manager)) == 4, 10,
                   what='the old workers to leave')
        self.assertEqual(zombie_children(manager), [])
        self.assertNotIn('killing it', log)
        sys_out = '%d requests served across %d reloads, none failed' % (load.ok, RELOADS)
        print('\n' + sys_out)


if __name__ == '__main__':
    unittest.main(verbosity=2)
