"""Chaos under load (issue: reliability): wrk drives requests through nginx while a worker is
killed with SIGKILL every 100 ms for 30 s (CHAOS_SECONDS).

What must hold: only requests in flight on a killed worker fail (failed requests <= kills: a
worker serves one request at a time, and connections waiting in the listen backlog belong to no
worker), the manager stays up and is back to pm.max_children workers, and the status page's
counters agree with what happened (every process idle again, accepted conn covers every request
wrk got an answer to, nothing marked as slow).
"""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import time

import harness
from harness import StackTestCase, fcgi_request, parse_cgi_response, php_params, wait_until

WORKERS = 4
SECONDS = int(os.environ.get('CHAOS_SECONDS', '30'))
WRK = shutil.which('wrk') or '/usr/bin/wrk'


def wrk_figures(text):
    """wrk's summary → (requests, non-2xx, socket errors)."""
    m = re.search(r'(\d+) requests in', text)
    if not m:
        raise AssertionError('no wrk summary:\n' + text)
    non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', text)
    sock = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', text)
    errors = sum(int(x) for x in sock.groups()) if sock else 0
    return int(m.group(1)), int(non2xx.group(1)) if non2xx else 0, errors


class ChaosTest(StackTestCase):
    POOL_INI = ('pm = static\npm.max_children = %d\npm.status_path = /status\n' % WORKERS)

    def status(self):
        out, _err, _ = fcgi_request(self.backend.socket_path,
                                    php_params('status', query='json'))
        code, _h, body = parse_cgi_response(out)
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def workers(self):
        return self.backend.worker_pids()

    def test_kill_a_worker_every_100ms_under_load(self):
        if not os.access(WRK, os.X_OK):
            self.skipTest('wrk is not installed (Debian package wrk)')
        wait_until(lambda: len(self.workers()) == WORKERS, 10, what='%d workers' % WORKERS)
        manager = self.backend.pid
        before = self.status()
        # a short sleep keeps workers busy most of the time, so kills hit requests in flight
        url = 'http://127.0.0.1:%d/sleep.php?s=0.003' % self.nginx.port
        wrk = subprocess.Popen([WRK, '-t2', '-c8', '-d%ds' % SECONDS, '--timeout', '10s', url],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        kills = 0
        rng = random.Random(1)
        deadline = time.monotonic() + SECONDS - 0.5
        time.sleep(0.5)
        while time.monotonic() < deadline:
            pids = self.workers()
            if pids:
                try:
                    os.kill(rng.choice(pids), signal.SIGKILL)
                    kills += 1
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        out, _ = wrk.communicate(timeout=SECONDS + 30)
        requests, non2xx, errors = wrk_figures(out)
        failed = non2xx + errors
        print('\nchaos: %d requests, %d kills, %d failed (%d non-2xx, %d socket errors)'
              % (requests, kills, failed, non2xx, errors))

        self.assertTrue(self.backend.alive(), 'the manager is gone')
        self.assertEqual(self.backend.pid, manager)
        self.assertGreater(kills, SECONDS * 5, 'too few kills for the test to mean anything')
        self.assertGreater(requests - failed, kills, 'the pool hardly served under chaos')
        self.assertLessEqual(failed, kills, 'more requests failed than workers were killed')

        # back to its configured size, every process idle
        wait_until(lambda: len(self.workers()) == WORKERS, 10, what='%d workers again' % WORKERS)
        s = wait_until(lambda: (lambda s: s if s['active processes'] == 1 and
                                s['idle processes'] == WORKERS - 1 else None)(self.status()),
                       10, what='all but the status request idle')
        self.assertEqual(s['total processes'], WORKERS)
        self.assertEqual(s['slow requests'], 0)
        # accepted conn counts every connection a worker took, the failed ones included
        accepted = s['accepted conn'] - before['accepted conn']
        self.assertGreaterEqual(accepted, requests - failed)
        self.assertLessEqual(accepted, requests + kills + 2)
        log = self.backend.log_text()
        self.assertGreaterEqual(log.count('exited on signal 9 (SIGKILL)'), kills)


if __name__ == '__main__':
    harness.main()
