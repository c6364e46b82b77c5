"""Idle workers give back the memory their requests left behind (issue: performance, PSS).

Zend keeps the 2 MiB chunks of a request's peak for the next requests, and the pages requests
touched in the chunk it always keeps stay resident (php-fpm workers hold both for their
lifetime); a php-pool worker idle for a second after a request returns them, and the C heap's
free pages, to the system. Under load nothing changes.
"""

import re
import time

import harness
from harness import BackendTestCase, fcgi_request, parse_cgi_response, php_params, wait_until


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        return int(re.search(r'^VmRSS:\s+(\d+) kB', f.read(), re.M).group(1))


class IdleMemoryTest(BackendTestCase):
    POOL_INI = 'pm = static\npm.max_children = 1\nphp_admin_value[memory_limit] = 256M\n'

    def alloc(self, mb=None, kb=None):
        query = 'kb=%d' % kb if kb is not None else 'mb=%d' % mb
        out, _err, _ = fcgi_request(self.backend.socket_path, php_params('alloc.php', query=query))
        status, _h, body = parse_cgi_response(out)
        self.assertEqual(status, 200, body)
        return int(body)

    def test_idle_worker_releases_cached_chunks(self):
        pid = self.alloc(1)
        time.sleep(1.5)
        base = rss_kib(pid)
        self.assertEqual(self.alloc(40), pid)
        busy = rss_kib(pid)
        self.assertGreater(busy - base, 20 * 1024, 'the big request did not grow the worker')
        # a second later, idle: back near where it started
        after = wait_until(lambda: (lambda r: r if r - base < 4 * 1024 else None)(rss_kib(pid)),
                           5, what='the cached memory released (base %d KiB)' % base)
        print('\nworker RSS: %d KiB idle, %d KiB after a 40 MiB request, %d KiB a second later'
              % (base, busy, after))
        # and it still serves, as big as before
        self.assertEqual(self.alloc(40), pid)

    def test_idle_worker_releases_the_pages_a_request_touched(self):
        # 1.5 MiB in one string: pages of the chunk Zend keeps, no chunk of its own.
        pid = self.alloc(kb=1536)
        time.sleep(1.5)
        base = rss_kib(pid)
        self.assertEqual(self.alloc(kb=1536), pid)
        busy = rss_kib(pid)  # before the worker has been idle for a second
        self.assertGreater(busy - base, 1024, 'the request did not touch its pages')
        after = wait_until(lambda: (lambda r: r if r - base < 256 else None)(rss_kib(pid)),
                           5, what='the touched pages released (base %d KiB)' % base)
        print('\nworker RSS: %d KiB idle, %d KiB after a 1.5 MiB string, %d KiB a second later'
              % (base, busy, after))
        self.assertEqual(self.alloc(kb=1536), pid)


if __name__ == '__main__':
    harness.main()
