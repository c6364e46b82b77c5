"""The engine and the process around it: opcache shared by all workers (the manager starts the
engine once and forks), listening on TCP as php-fpm does (addr:port, a port alone, [ipv6]:port),
and emergency_restart_threshold."""

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest

import harness
from harness import StackTestCase, wait_until


class OpcacheSharedTest(StackTestCase):
    POOL_INI = 'pm = static\npm.max_children = 2\n'

    def test_second_worker_hits_what_the_first_compiled(self):
        # A fresh file, dated in the past so opcache.file_update_protection (2 s) admits it.
        target = os.path.join(self.tmp, 'www-opcache', 'fresh.php')
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, 'w') as f:
            f.write('<?php echo "fresh";\n')
        old = time.time() - 60
        os.utime(target, (old, old))
        include = os.path.join(self.tmp, 'www-opcache', 'probe.php')
        with open(include, 'w') as f:
            f.write('<?php include %r; echo "\\n"; include %r;\n'
                    % (target, os.path.join(harness.WWW, 'opcache.php')))
        os.utime(include, (old, old))
        params = lambda: harness.php_params('probe.php', docroot=os.path.dirname(target),
                                            query='f=' + target)
        seen = {}
        busy = None
        for _ in range(40):
            if seen:
                # An idle worker that just served is the first to be woken again: keep one
                # worker busy so that the next request goes to the other.
                busy = threading.Thread(target=harness.fcgi_request, args=(
                    self.backend.socket_path, harness.php_params('sleep.php', query='s=0.3')))
                busy.start()
                time.sleep(0.1)
            out, _err, _ = harness.fcgi_request(self.backend.socket_path, params())
            if busy:
                busy.join()
            body = harness.parse_cgi_response(out)[2].decode().split('\n', 1)[1]
            j = __import__('json').loads(body)
            self.assertTrue(j['enabled'])
            seen.setdefault(j['pid'], j['hits'])
            if len(seen) == 2:
                break
        self.assertEqual(len(seen), 2, 'requests never reached the second worker')
        first, second = list(seen.values())
        self.assertEqual(first, 0, 'the first run compiled the file')
        self.assertGreaterEqual(second, 1, 'the other worker did not get it from shared memory')


@unittest.skipIf(harness.is_fpm(), 'starts the php-pool binary itself')
class ListenTest(unittest.TestCase):
    """php-pool binding `listen` itself (no systemd): TCP forms."""

    def run_pool(self, listen, connect_to):
        tmp = harness.make_tmp()
        conf = os.path.join(tmp, 'pool.conf')
        with open(conf, 'w') as f:
            f.write('[www]\nlisten = %s\npm = static\npm.max_children = 1\n' % listen)
        log = open(os.path.join(tmp, 'log'), 'wb')
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS='unix:path=/nonexistent')
        p = subprocess.Popen([os.environ['PHP_POOL_BIN'], '--config', conf, '-R'],
                             stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            for addr in connect_to:
                def up():
                    try:
                        harness.fcgi_request(addr, harness.php_params('pid.php'), timeout=2)
                        return True
                    except OSError:
                        return False
                wait_until(up, 10, what='a response on %r' % (addr,))
                out, _, _ = harness.fcgi_request(addr, harness.php_params('pid.php'))
                self.assertEqual(harness.parse_cgi_response(out)[0], 200)
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(15)
            log.close()
            harness.remove_tmp(tmp)

    def test_addr_port(self):
        port = harness.free_port()
        self.run_pool('127.0.0.1:%d' % port, [('127.0.0.1', port)])

    def test_port_alone_is_dual_stack(self):
        port = harness.free_port()
        self.run_pool('%d' % port, [('127.0.0.1', port), ('::1', port)])

    def test_ipv6(self):
        port = harness.free_port()
        self.run_pool('[::1]:%d' % port, [('::1', port)])


@unittest.skipIf(harness.is_fpm(), 'php-fpm answers with a re-exec of its master, which the '
                 'harness sees as the backend going away')
class EmergencyRestartTest(StackTestCase):
    POOL_INI = 'pm = static\npm.max_children = 2\n'
    GLOBAL_INI = 'emergency_restart_threshold = 3\nemergency_restart_interval = 1m\n'

    @classmethod
    def start_backend(cls):
        return harness.backend_factory()(cls.tmp, cls.POOL_INI, global_ini_text=cls.GLOBAL_INI)

    def test_repeated_crashes_restart_all_workers(self):
        wait_until(lambda: len(self.backend.worker_pids()) == 2, 10, what='2 workers')
        survivor = None
        for _ in range(3):
            pids = self.backend.worker_pids()
            victim, survivor = pids[0], pids[1] if len(pids) > 1 else None
            os.kill(victim, signal.SIGSEGV)
            wait_until(lambda: victim not in self.backend.worker_pids()
                       and len(self.backend.worker_pids()) >= 2, 10, what='a replacement')
        # the third crash within the interval restarts every worker, the survivor included
        wait_until(lambda: survivor not in self.backend.worker_pids(), 10,
                   what='the surviving worker replaced too')
        self.assertRegex(self.backend.log_text(), r'(?i)emergency|restart')
        self.assertEqual(self.get('/pid.php').status, 200)


if __name__ == '__main__':
    unittest.main(verbosity=2)
