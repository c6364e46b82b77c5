"""Idle workers give back the memory their requests left behind (issue: performance, PSS).

Zend keeps the 2 MiB chunks of a request's peak for the next requests, and the pages requests
touched in the chunk it always keeps stay resident (php-fpm workers hold both for their
lifetime). A php-pool worker idle for a second returns the pages of that chunk past what its
recent requests used; idle for pm.process_idle_timeout (default 10 s), everything, and the C
heap's free pages. Not more, not sooner: a request arriving after a release faults its pages in
again, which a site with a request every few seconds would pay on each one.
"""

import re
import time

import harness
from harness import BackendTestCase, fcgi_request, parse_cgi_response, php_params, wait_until


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        return int(re.search(r'^VmRSS:\s+(\d+) kB', f.read(), re.M).group(1))


def minor_faults(pid):
    with open('/proc/%d/stat' % pid) as f:
        return int(f.read().rsplit(')', 1)[1].split()[7])


class AllocMixin:
    def alloc(self, mb=None, kb=None):
        query = 'kb=%d' % kb if kb is not None else 'mb=%d' % mb
        out, _err, _ = fcgi_request(self.backend.socket_path, php_params('alloc.php', query=query))
        status, _h, body = parse_cgi_response(out)
        self.assertEqual(status, 200, body)
        return int(body)


class IdleMemoryTest(AllocMixin, BackendTestCase):
    IDLE = 3  # pm.process_idle_timeout, seconds
    POOL_INI = ('pm = static\npm.max_children = 1\nphp_admin_value[memory_limit] = 256M\n'
                'pm.process_idle_timeout = %ds\n' % IDLE)

    def settled_rss(self, pid):
        """The worker's RSS once it has been idle past the timeout (released)."""
        time.sleep(self.IDLE + 0.5)
        return rss_kib(pid)

    def test_idle_worker_releases_cached_chunks(self):
        pid = self.alloc(1)
        base = self.settled_rss(pid)
        self.assertEqual(self.alloc(40), pid)
        busy = rss_kib(pid)
        self.assertGreater(busy - base, 20 * 1024, 'the big request did not grow the worker')
        # idle for less than the timeout: still kept for the next request
        time.sleep(self.IDLE / 2)
        self.assertGreater(rss_kib(pid) - base, 20 * 1024, 'released before the idle timeout')
        # past it: back near where it started
        after = wait_until(lambda: (lambda r: r if r - base < 4 * 1024 else None)(rss_kib(pid)),
                           5, what='the cached memory released (base %d KiB)' % base)
        print('\nworker RSS: %d KiB idle, %d KiB after a 40 MiB request, %d KiB once idle %d s'
              % (base, busy, after, self.IDLE))
        # and it still serves, as big as before
        self.assertEqual(self.alloc(40), pid)

    def test_idle_worker_releases_the_pages_a_request_touched(self):
        # 1.5 MiB in one string: pages of the chunk Zend keeps, no chunk of its own.
        pid = self.alloc(kb=1536)
        base = self.settled_rss(pid)
        self.assertEqual(self.alloc(kb=1536), pid)
        busy = rss_kib(pid)  # before the worker has been idle past the timeout
        self.assertGreater(busy - base, 1024, 'the request did not touch its pages')
        after = wait_until(lambda: (lambda r: r if r - base < 256 else None)(rss_kib(pid)),
                           5, what='the touched pages released (base %d KiB)' % base)
        print('\nworker RSS: %d KiB idle, %d KiB after a 1.5 MiB string, %d KiB once idle %d s'
              % (base, busy, after, self.IDLE))
        self.assertEqual(self.alloc(kb=1536), pid)


class TrimTest(AllocMixin, BackendTestCase):
    """After a second idle, what the recent requests did not need goes back."""

    POOL_INI = 'pm = static\npm.max_children = 1\n'

    def test_pages_past_the_recent_requests_needs_go_back_after_a_second(self):
        pid = self.alloc(kb=16)
        self.assertEqual(self.alloc(kb=1536), pid)  # touches most of the kept chunk
        for _ in range(12):  # then small requests: the running average of their peaks falls
            self.assertEqual(self.alloc(kb=64), pid)
        held = rss_kib(pid)
        after = wait_until(lambda: (lambda r: r if held - r > 768 else None)(rss_kib(pid)),
                           3, what='the pages past the small requests given back (RSS %d KiB)'
                           % held)
        before = minor_faults(pid)
        self.assertEqual(self.alloc(kb=64), pid)
        faults = minor_faults(pid) - before
        print('\nworker RSS: %d KiB after a 1.5 MiB string and small requests, %d KiB idle 1 s; '
              'the next small request: %d faults' % (held, after, faults))
        self.assertLess(faults, 50, 'the trim took pages the small requests use')


class SparseRequestsTest(AllocMixin, BackendTestCase):
    """The default: requests a few seconds apart find their memory where they left it."""

    POOL_INI = 'pm = static\npm.max_children = 1\nphp_admin_value[memory_limit] = 256M\n'

    def test_request_after_a_pause_does_not_fault_its_memory_in_again(self):
        # A few MiB of chunks, as the benchmark's CPU-bound script. Zend's cache of chunks grows
        # to a repeated peak over several requests (its running average): warm it up first.
        pid = self.alloc(4)
        for _ in range(8):
            self.assertEqual(self.alloc(4), pid)
        faults = []
        for _ in range(2):
            time.sleep(1.5)  # the release used to come after one second idle
            before = minor_faults(pid)
            self.assertEqual(self.alloc(4), pid)
            faults.append(minor_faults(pid) - before)
        print('\nminor faults of a request 1.5 s after the previous one: %s' % faults)
        # Released and touched again, its chunks are thousands of faults; kept, next to none.
        self.assertLess(max(faults), 300, 'the worker gave its memory back within 1.5 s')

    def test_small_request_after_a_pause_finds_its_pages(self):
        pid = self.alloc(kb=700)  # within the chunk Zend always keeps
        for _ in range(8):
            self.assertEqual(self.alloc(kb=700), pid)
        time.sleep(1.5)  # past the one-second trim
        before = minor_faults(pid)
        self.assertEqual(self.alloc(kb=700), pid)
        faults = minor_faults(pid) - before
        print('\nminor faults of a 700 KiB request 1.5 s after the previous one: %d' % faults)
        self.assertLess(faults, 50, 'the trim took pages the request uses')


if __name__ == '__main__':
    harness.main()
