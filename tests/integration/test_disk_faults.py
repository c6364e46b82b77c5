"""Log files on a full or read-only filesystem (issue: reliability): requests are served as
before, and each failure is reported once (per process that writes the file: the manager for
error_log and slowlog, each worker for its access log), not once per request; when the disk has
room again, logging resumes and says so.

A real filesystem: a small tmpfs mounted for the test (needs root; skipped otherwise).
"""

import os
import subprocess
import time
import unittest

import harness
from harness import (backend_factory, fcgi_request, make_tmp, parse_cgi_response, php_params,
                     read_text, remove_tmp, wait_until)

WORKERS = 2


def fill(directory):
    """Writes a file until the filesystem is full."""
    fd = os.open(os.path.join(directory, 'filler'), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b'\0' * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def get(backend, script, query=''):
    out, _err, _ = fcgi_request(backend.socket_path, php_params(script, query=query), timeout=30)
    status, _h, body = parse_cgi_response(out)
    return status, body


class DiskFaultTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest('needs root to mount a small tmpfs')
        harness.require_tools(nginx=False)
        self.tmp = make_tmp()
        self.logs = os.path.join(self.tmp, 'logs')
        os.makedirs(self.logs)
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=256k,mode=0755', 'tmpfs', self.logs],
                       check=True)
        self.backend = None

    def tearDown(self):
        try:
            if self.backend is not None:
                self.backend.stop()
        finally:
            subprocess.run(['umount', '-l', self.logs])
            remove_tmp(self.tmp)

    def start(self, global_ini=''):
        pool = ('pm = static\npm.max_children = %d\n'
                'access.log = %s/access.log\n'
                'slowlog = %s/slow.log\nrequest_slowlog_timeout = 1s\n'
                % (WORKERS, self.logs, self.logs))
        self.backend = backend_factory('pool')(self.tmp, pool, global_ini_text=global_ini)
        wait_until(lambda: len(self.backend.worker_pids()) == WORKERS, 10, what='workers')

    def stderr(self):
        return read_text(self.backend.log_path + '.stdio')

    def serve_many(self, n=200):
        # 200 lines: more than the partly used last page of a file on tmpfs takes
        for _ in range(n):
            status, body = get(self.backend, 'pid.php')
            self.assertEqual(status, 200)
            self.assertTrue(body.isdigit())

    def test_access_log_and_slowlog_on_a_full_disk(self):
        self.start()
        self.serve_many(4)
        access = os.path.join(self.logs, 'access.log')
        wait_until(lambda: read_text(access).count('\n') == 4, 5, what='4 access lines')
        fill(self.logs)
        self.serve_many()
        for _ in range(2):  # two slow requests: their slowlog entries cannot be written
            self.assertEqual(get(self.backend, 'slow.php', 's=1.3')[0], 200)
        log = self.stderr()
        n_access = log.count("cannot write access log '%s'" % access)
        self.assertGreaterEqual(n_access, 1, log[-3000:])
        self.assertLessEqual(n_access, WORKERS, 'reported per request:\n' + log[-3000:])
        self.assertIn('No space left on device', log)
        self.assertEqual(log.count("cannot write slowlog"), 1, log[-3000:])
        self.assertEqual(log.count('executing too slow'), 2)  # still counted and logged

        os.unlink(os.path.join(self.logs, 'filler'))  # room again
        self.serve_many(2 * WORKERS + 2)
        self.assertEqual(get(self.backend, 'slow.php', 's=1.3')[0], 200)
        wait_until(lambda: 'slowlog' in self.stderr() and "is written again" in self.stderr(), 5,
                   what='the recovery notices')
        self.assertIn('script_filename', read_text(os.path.join(self.logs, 'slow.log')))
        self.assertGreater(read_text(access).count('\n'), 4)

    def test_error_log_on_a_full_disk(self):
        self.start('error_log = %s/pool.log\nlog_level = debug' % self.logs)
        self.serve_many(4)
        fill(self.logs)
        for _ in range(200):  # a log line each ("Primary script unknown" at debug level)
            self.assertEqual(get(self.backend, 'no-such-script.php')[0], 404)
        self.serve_many(20)
        # said on stderr (the journal under systemd), once by each process that could not write
        n = wait_until(lambda: self.stderr().count("cannot write error_log '%s/pool.log'"
                                                   % self.logs), 5, what='the report')
        self.assertLessEqual(n, WORKERS + 1, 'reported per request:\n' + self.stderr()[-3000:])

    def test_logs_on_a_read_only_filesystem(self):
        subprocess.run(['mount', '-o', 'remount,ro', self.logs], check=True)
        self.start()
        self.serve_many()
        self.assertEqual(get(self.backend, 'slow.php', 's=1.3')[0], 200)
        self.assertEqual(get(self.backend, 'slow.php', 's=1.3')[0], 200)
        log = self.stderr()
        # the manager opens the access log once, at start (its workers inherit it)
        self.assertEqual(log.count('failed to open access log'), 1, log[-3000:])
        self.assertIn('Read-only file system', log)
        self.assertEqual(log.count("cannot write slowlog"), 1, log[-3000:])


if __name__ == '__main__':
    harness.main()
