"""Stopping the pool, and FastCGI connections kept open by nginx (fastcgi_keep_conn on)."""

import os
import signal
import time
import unittest
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import harness
from harness import Nginx, StackTestCase, WWW, backend_factory, make_tmp, remove_tmp, wait_until


class StopTest(unittest.TestCase):
    """Each test gets its own backend + nginx: the test stops the backend."""

    POOL_INI = 'pm = static\npm.max_children = 2\n'
    GLOBAL_INI = ''

    def start(self, pool_ini=None, global_ini=''):
        harness.require_tools()
        self.tmp = make_tmp()
        self.addCleanup(remove_tmp, self.tmp)
        self.backend = backend_factory()(self.tmp, pool_ini or self.POOL_INI,
                                         global_ini_text=global_ini)
        self.addCleanup(self.backend.stop)
        self.nginx = Nginx(self.tmp, self.backend.socket_path, WWW)
        self.addCleanup(self.nginx.stop)  # cleanups run in reverse: nginx first

    def in_flight_then_signal(self, sig, seconds=2):
        """Start a request that sleeps `seconds`, send sig once it runs; → (response, rc)."""
        with ThreadPoolExecutor(1) as ex:
            fut = ex.submit(self.nginx.request, 'GET', '/sleep.php?s=%s' % seconds)
            time.sleep(0.5)  # nginx has passed it on and a worker runs it by then
            workers = self.backend.worker_pids()
            t0 = time.monotonic()
            self.backend.signal(sig)
            r = fut.result()
            rc = self.backend.wait_exit(40)
        return r, rc, time.monotonic() - t0, workers

    @unittest.skipIf(harness.is_fpm(), 'php-fpm treats SIGTERM as an immediate stop and its '
                     'default process_control_timeout = 0 kills busy workers; DESIGN.md: php-pool '
                     'drains in-flight requests on SIGTERM')
    def test_sigterm_lets_in_flight_request_finish(self):
        self.start()
        r, rc, elapsed, workers = self.in_flight_then_signal(signal.SIGTERM)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.text.startswith('slept '), r.text)
        self.assertEqual(rc, 0, 'exit status after a graceful stop')
        self.assertLess(elapsed, 10)
        for pid in workers:
            wait_until(lambda: not harness.pid_alive(pid), 5, what='workers to exit')

    def sleep_during(self, sig):
        with ThreadPoolExecutor(1) as ex:
            fut = ex.submit(self.nginx.request, 'GET', '/sleep_intact.php?s=2')
            time.sleep(0.5)
            self.backend.signal(sig)
            r = fut.result()
        self.assertEqual(r.status, 200, r)
        return r.json()

    @unittest.skipIf(harness.is_fpm(), 'php-fpm signals busy workers: their sleep() returns early')
    def test_stop_and_reload_do_not_cut_a_running_sleep_short(self):
        # The manager flags a busy worker instead of signalling it: the script's sleep() runs
        # in full (a signal would end it early and make it return the seconds left).
        self.start()
        j = self.sleep_during(signal.SIGHUP)
        self.assertEqual(j['left'], 0, j)
        self.assertGreaterEqual(j['took'], 1.95, j)
        wait_until(lambda: self.nginx.request('GET', '/pid.php').status == 200, 5,
                   what='serving after the reload')
        j = self.sleep_during(signal.SIGTERM)
        self.assertEqual(j['left'], 0, j)
        self.assertGreaterEqual(j['took'], 1.95, j)
        self.assertEqual(self.backend.wait_exit(20), 0)

    def test_sigquit_lets_in_flight_request_finish(self):
        # php-fpm's graceful stop, with a process_control_timeout long enough for the request
        self.start(global_ini='process_control_timeout = 10s')
        r, rc, _elapsed, workers = self.in_flight_then_signal(signal.SIGQUIT)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.text.startswith('slept '), r.text)
        self.assertEqual(rc, 0)
        for pid in workers:
            wait_until(lambda: not harness.pid_alive(pid), 5, what='workers to exit')

    def test_sigterm_idle_pool_exits_cleanly(self):
        self.start()
        self.assertEqual(self.nginx.request('GET', '/pid.php').status, 200)
        workers = self.backend.worker_pids()
        self.assertEqual(len(workers), 2)
        t0 = time.monotonic()
        self.backend.signal(signal.SIGTERM)
        rc = self.backend.wait_exit(10)
        self.assertEqual(rc, 0)
        self.assertLess(time.monotonic() - t0, 5)
        for pid in workers:
            wait_until(lambda: not harness.pid_alive(pid), 5, what='workers to exit')
        # nobody answers on the socket any more
        r = self.nginx.request('GET', '/pid.php')
        self.assertEqual(r.status, 502)


class KeepConnTest(StackTestCase):
    """nginx keeps FastCGI connections open (fastcgi_keep_conn on + upstream keepalive) to a pool
    of one worker: every request must still get its own, complete response."""

    POOL_INI = 'pm = static\npm.max_children = 1\n'
    KEEP_CONN = True

    def test_sequential_requests_over_kept_connection(self):
        pids = set()
        for i in range(50):
            r = self.get('/info.php?i=%d' % i)
            self.assertEqual(r.status, 200, 'request %d: %r' % (i, r))
            j = r.json()
            self.assertEqual(j['get'], {'i': str(i)})
            pids.add(j['pid'])
        self.assertEqual(len(pids), 1)

    def test_mixed_requests_over_kept_connection(self):
        marker = os.path.join(self.tmp, 'keep-finish-marker')
        body = os.urandom(300000)
        for _round in range(3):
            r = self.req('POST', '/info.php', {'Content-Type': 'application/octet-stream'}, body)
            self.assertEqual(r.json()['input_md5'], harness.md5(body))
            r = self.get('/exit.php')
            self.assertEqual(r.body, b'before-exit\n')
            r = self.get('/missing.php')
            self.assertEqual(r.status, 404)
            r = self.get('/fatal.php')
            self.assertEqual(r.status, 500)
            r = self.get('/redirect.php')
            self.assertEqual(r.status, 302)
            r = self.get('/stream.php')
            self.assertEqual(len(r.body), 5005)
            r = self.get('/status.php?cookie=1')
            self.assertEqual(len(r.headers.get_all('Set-Cookie')), 2)
        if os.path.exists(marker):
            os.unlink(marker)
        r = self.get('/finish.php?s=0.3&marker=' + urllib.parse.quote(marker))
        self.assertEqual(r.body, b'finished-early\n')
        r = self.get('/pid.php')  # waits for the worker to finish the script's tail
        self.assertEqual(r.status, 200)
        self.assertTrue(os.path.exists(marker))

    def test_headers_do_not_leak_between_requests(self):
        r = self.get('/status.php?code=404&h[X-Leak]=1&cookie=z')
        self.assertEqual(r.status, 404)
        r = self.get('/status.php')
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.headers.get('X-Leak'))
        self.assertIsNone(r.headers.get('Set-Cookie'))
        r = self.get('/info.php', {'X-Only-Once': 'a', 'Cookie': 'c=1'})
        self.assertEqual(r.json()['server'].get('HTTP_X_ONLY_ONCE'), 'a')
        j = self.get('/info.php').json()
        self.assertNotIn('HTTP_X_ONLY_ONCE', j['server'])
        self.assertEqual(j['cookie'], [])


class KeptConnectionsOutnumberWorkersTest(harness.BackendTestCase):
    """More kept connections (FastCGI KEEP_CONN) than workers: a worker serves whichever kept
    connection sends a request, and accepts new ones meanwhile, so none waits for another's
    connection to close. php-fpm's worker blocks on its kept connection: the others starve."""

    POOL_INI = 'pm = static\npm.max_children = 2\n'
    CLIENTS = 8

    @unittest.skipIf(harness.is_fpm(), 'php-fpm serves one kept connection per worker')
    def test_every_kept_connection_is_served_promptly(self):
        deadline = time.monotonic() + 2
        results = {}

        def client(i):
            served, slowest = 0, 0.0
            with harness.FcgiConnection(self.backend.socket_path, timeout=10) as c:
                while time.monotonic() < deadline:
                    t0 = time.monotonic()
                    out, _err, _ = c.request(harness.php_params('pid.php'), keep_conn=True)
                    slowest = max(slowest, time.monotonic() - t0)
                    self.assertTrue(harness.parse_cgi_response(out)[2].isdigit())
                    served += 1
                    time.sleep(0.005)
            results[i] = (served, slowest)

        with ThreadPoolExecutor(self.CLIENTS) as ex:
            list(ex.map(client, range(self.CLIENTS)))
        for i, (served, slowest) in sorted(results.items()):
            self.assertGreater(served, 20, 'kept connection %d was served %d times' % (i, served))
            self.assertLess(slowest, 1.0, 'kept connection %d waited %.2fs' % (i, slowest))


class SlowPageBesideFastOnesTest(StackTestCase):
    """nginx keeps connections to the pool (fastcgi_keep_conn on) and sends the next request on
    any of them, also one parked with a worker that runs a slow page: that request goes to an
    idle worker instead of waiting for the slow one (its wait was the slow page's length)."""

    POOL_INI = 'pm = static\npm.max_children = 3\n'
    KEEP_CONN = True

    @unittest.skipIf(harness.is_fpm(), "php-fpm: a kept connection is its worker's until closed")
    def test_fast_requests_do_not_wait_for_the_slow_page(self):
        stop = time.monotonic() + 4
        fast = []

        def slow_client(_):
            while time.monotonic() < stop:
                self.assertEqual(self.get('/sleep.php?s=1.5').status, 200)

        def fast_client(_):
            while time.monotonic() < stop:
                t0 = time.monotonic()
                self.assertEqual(self.get('/pid.php').status, 200)
                fast.append(time.monotonic() - t0)

        with ThreadPoolExecutor(9) as ex:
            futures = [ex.submit(slow_client, i) for i in range(1)]
            time.sleep(0.2)
            futures += [ex.submit(fast_client, i) for i in range(8)]
            for f in futures:
                f.result()
        fast.sort()
        self.assertGreater(len(fast), 100)
        # Without the hand-off, about 1 in 100 waited for a slow page (1 s or more).
        self.assertLess(fast[-1], 0.5, 'slowest of %d fast requests: %.2f s, p99 %.3f s'
                        % (len(fast), fast[-1], fast[len(fast) * 99 // 100]))


if __name__ == '__main__':
    harness.main()
