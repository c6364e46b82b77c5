"""Failures a site runs into: fatal errors, memory_limit, request_terminate_timeout, a worker that
dies mid-request, a missing script, a non-PHP file sent to FastCGI. After each, the pool goes on
serving."""

import re
import unittest

import harness
from harness import StackTestCase, wait_until


class _ErrorBase(StackTestCase):
    # one worker, so "the next request is fine" is served by the same or a replacement worker
    POOL_INI = ('pm = static\npm.max_children = 1\n'
                'request_terminate_timeout = 2s\n'
                'php_admin_value[memory_limit] = 32M\n')
    NGINX_EXTRA = staticmethod(lambda ng: '        location ~ \\.txt$ {\n%s        }\n'
                               % ng.fastcgi_block())

    def assertServing(self):
        try:
            r = self.get('/pid.php', timeout=15)
        except OSError as e:  # a pool that lost its only worker leaves nginx waiting 60 s
            self.fail('the pool did not answer a simple request: %r' % e)
        self.assertEqual(r.status, 200, 'the pool did not recover: %r' % r)
        return int(r.text)


class ErrorTest(_ErrorBase):
    def test_fatal_error_with_display_errors_off_is_500(self):
        r = self.get('/fatal.php')
        # php-fpm: display_errors=Off and nothing flushed yet → 500; the buffered output is kept
        self.assertEqual(r.status, 500)
        self.assertEqual(r.body, b'output before fatal\n')
        self.assertEventuallyIn('PHP Fatal error:  Uncaught Error: Call to undefined function '
                                'this_function_does_not_exist_xyz()')
        if not harness.is_fpm():  # php-fpm sends PHP messages only to the web server
            # php-pool's own log gives it PHP's level: journalctl -p err finds fatal errors
            self.assertRegex(self.backend.log_text(), r'ERROR: \[pool \S+\] PHP message: PHP '
                             r'Fatal error:  Uncaught Error: Call to undefined function')
        self.assertServing()

    def test_fatal_error_with_display_errors_on_is_200(self):
        r = self.get('/fatal.php?display=1')
        self.assertEqual(r.status, 200)
        self.assertIn(b'output before fatal\n', r.body)
        self.assertIn(b'Fatal error: Uncaught Error: Call to undefined function '
                      b'this_function_does_not_exist_xyz()', r.body)
        self.assertServing()

    def test_memory_limit_exceeded(self):
        pid = self.assertServing()
        r = self.get('/memory.php')
        self.assertEqual(r.status, 500)
        self.assertNotIn(b'unreachable', r.body)
        self.assertEventuallyIn('Allowed memory size of 33554432 bytes exhausted')
        # the worker survives a memory_limit fatal error and serves the next request
        self.assertEqual(self.assertServing(), pid)

    def test_missing_script(self):
        r = self.get('/does-not-exist.php')
        self.assertEqual(r.status, 404)
        self.assertEqual(r.body, b'File not found.\n')
        self.assertEventuallyIn('Primary script unknown')
        self.assertServing()

    def test_missing_script_with_path_info(self):
        r = self.get('/nope.php/some/path')
        self.assertEqual(r.status, 404)
        self.assertEqual(r.body, b'File not found.\n')

    def test_limit_extensions(self):
        r = self.get('/notes.txt')
        self.assertEqual(r.status, 403)
        self.assertEqual(r.body, b'Access denied.\n')
        self.assertEventuallyIn('security.limit_extensions')
        self.assertServing()


class TerminateTimeoutTest(_ErrorBase):
    """Own backend: a pool that fails here must not take the other tests down with it."""

    def test_request_terminate_timeout(self):
        self.assertServing()
        r = self.get('/sleep.php?s=20')
        self.assertIn(r.status, (502, 504))
        self.assertLess(r.elapsed, 10, 'request_terminate_timeout = 2s was not enforced')
        self.assertServing()
        wait_until(lambda: re.search(r'(?i)timed out|timeout', self.backend.log_text()), 5,
                   what='a log line about the timeout')
        self.assertIn('sleep.php', self.backend.log_text())


class WorkerCrashTest(_ErrorBase):
    """Own backend, like TerminateTimeoutTest."""

    @unittest.skipIf(harness.SANITIZED, 'suicide.php needs posix_kill(): the posix extension is '
                     'a shared one, not loaded under the sanitizers')
    def test_worker_killed_mid_request(self):
        old = self.assertServing()
        r = self.get('/suicide.php')
        self.assertEqual(r.status, 502)
        new = self.assertServing()
        self.assertNotEqual(new, old, 'the dead worker was not replaced')
        self.assertEqual(self.backend.worker_pids(), [new])
        self.assertFalse(harness.pid_alive(old))
        wait_until(lambda: re.search(r'(?i)%d.*(signal 9|SIGKILL)' % old, self.backend.log_text()),
                   5, what='a log line about the killed worker')


if __name__ == '__main__':
    harness.main()
