"""Resources over a long run (issue: reliability): 100,000 requests (RESOURCE_REQUESTS) through
nginx with pm.max_requests recycling workers all the time, and 50 graceful reloads (SIGHUP)
while they run. Afterwards the manager holds the same open fds as before and about the same
memory, it has no zombie children, and every scoreboard slot a finished worker held is free
again; no request failed along the way.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import harness
from harness import (StackTestCase, fcgi_request, parse_cgi_response, php_params, wait_until,
                     zombies_of)

WORKERS = 4
REQUESTS = int(os.environ.get('RESOURCE_REQUESTS', '100000'))
RELOADS = int(os.environ.get('RESOURCE_RELOADS', '50'))
WRK = shutil.which('wrk') or '/usr/bin/wrk'


def fds(pid):
    return sorted(os.readlink('/proc/%d/fd/%s' % (pid, fd)) for fd in os.listdir('/proc/%d/fd' % pid))


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        return int(re.search(r'^VmRSS:\s+(\d+) kB', f.read(), re.M).group(1))


def normalise(links):
    # pipes and sockets are named by inode: compare their kinds and counts, not the numbers
    return sorted(re.sub(r'\[\d+\]', '[]', link) for link in links)


class ResourceTest(StackTestCase):
    POOL_INI = ('pm = static\npm.max_children = %d\npm.max_requests = 500\n'
                'pm.status_path = /status\n' % WORKERS)

    def status(self):
        out, _err, _ = fcgi_request(self.backend.socket_path, php_params('status', query='json'))
        code, _h, body = parse_cgi_response(out)
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def settle(self):
        wait_until(lambda: len(self.backend.worker_pids()) == WORKERS and
                   self.status()['idle processes'] == WORKERS - 1, 30, what='a settled pool')
        time.sleep(0.5)

    def test_requests_and_reloads_leak_nothing(self):
        if not os.access(WRK, os.X_OK):
            self.skipTest('wrk is not installed (Debian package wrk)')
        manager = self.backend.pid
        # warm up: one reload and some requests, so that lazily made things exist already
        for _ in range(50):
            self.assertEqual(self.get('/pid.php').status, 200)
        self.backend.signal(signal.SIGHUP)
        self.settle()
        fds_before, rss_before = fds(manager), rss_kib(manager)

        url = 'http://127.0.0.1:%d/pid.php' % self.nginx.port
        done = failed = reloads = 0
        while done < REQUESTS or reloads < RELOADS:
            wrk = subprocess.Popen([WRK, '-t1', '-c8', '-d3s', url], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
            # reloads spread over the run: about one every 0.3 s while wrk runs
            for _ in range(8):
                time.sleep(0.3)
                if reloads < RELOADS:
                    self.backend.signal(signal.SIGHUP)
                    reloads += 1
            out, _ = wrk.communicate(timeout=60)
            m = re.search(r'(\d+) requests in', out)
            self.assertIsNotNone(m, out)
            done += int(m.group(1))
            non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
            sock = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)',
                             out)
            failed += (int(non2xx.group(1)) if non2xx else 0) + (
                sum(int(x) for x in sock.groups()) if sock else 0)
        print('\nresources: %d requests, %d reloads, %d failed' % (done, reloads, failed))
        self.assertEqual(failed, 0, 'requests failed during reloads')
        self.assertTrue(self.backend.alive())
        self.assertEqual(self.backend.pid, manager)

        self.settle()
        wait_until(lambda: not zombies_of(manager), 10, what='no zombie children')
        fds_after, rss_after = fds(manager), rss_kib(manager)
        print('manager: %d fds before, %d after; RSS %d KiB before, %d KiB after'
              % (len(fds_before), len(fds_after), rss_before, rss_after))
        self.assertEqual(normalise(fds_after), normalise(fds_before), 'the manager leaks fds')
        # malloc may keep a little more; a leak per request or reload would be far more
        self.assertLess(rss_after - rss_before, 2048, 'the manager grew by %d KiB'
                        % (rss_after - rss_before))
        s = self.status()
        self.assertEqual(s['total processes'], WORKERS)
        self.assertEqual(len(self.backend.worker_pids()), WORKERS)
        self.assertEqual(s['accepted conn'] >= done, True)


if __name__ == '__main__':
    harness.main()
