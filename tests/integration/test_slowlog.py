"""request_slowlog_timeout: a request running longer gets a slowlog entry with its PHP backtrace
(functions and file:line), counts as slow, and is not disturbed (it completes normally)."""

import os
import re
import unittest

from harness import StackTestCase, wait_until, WWW


class SlowlogTest(StackTestCase):
    @classmethod
    def setUpClass(cls):
        cls.POOL_INI = ('pm = static\npm.max_children = 1\nrequest_slowlog_timeout = 1s\n'
                        'slowlog = /tmp/php-pool-slowlog-%d.log\n' % os.getpid())
        super().setUpClass()

    @classmethod
    def slowlog_path(cls):
        return '/tmp/php-pool-slowlog-%d.log' % os.getpid()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if os.path.exists(cls.slowlog_path()):
            os.unlink(cls.slowlog_path())

    def read_slowlog(self):
        try:
            with open(self.slowlog_path()) as f:
                return f.read()
        except OSError:
            return ''

    def test_backtrace_names_nested_functions_and_lines(self):
        r = self.get('/slow.php?s=2.5', timeout=20)
        # not disturbed: usleep ran its full time and the request completed
        self.assertEqual(r.status, 200)
        self.assertEqual(r.text, 'slept')
        self.assertGreaterEqual(r.elapsed, 2.4)
        wait_until(lambda: 'outer_caller()' in self.read_slowlog(), 5, what='slowlog entry')
        log = self.read_slowlog()
        script = os.path.join(WWW, 'slow.php')
        self.assertIn('script_filename = ' + script, log)
        self.assertRegex(log, r'\[pool \S+\] pid \d+')
        # each frame names the function and where it was called: usleep in inner_sleeper
        # (line 4), inner_sleeper in outer_caller (line 8), outer_caller at top level (line 10)
        self.assertRegex(log, r'\[0x[0-9a-f]+\] usleep\(\) %s:4\n' % re.escape(script))
        self.assertRegex(log, r'\[0x[0-9a-f]+\] inner_sleeper\(\) %s:8\n' % re.escape(script))
        self.assertRegex(log, r'\[0x[0-9a-f]+\] outer_caller\(\) %s:10\n' % re.escape(script))
        # the request as php-fpm names it: the query string too
        self.assertRegex(self.backend.log_text(),
                         r'\(request: "GET /slow\.php\?s=[0-9.]+"\) executing too slow')

    def test_fast_request_not_logged(self):
        before = self.read_slowlog()
        self.assertEqual(self.get('/slow.php?s=0.1').status, 200)
        self.assertEqual(self.read_slowlog(), before)


if __name__ == '__main__':
    unittest.main(verbosity=2)
