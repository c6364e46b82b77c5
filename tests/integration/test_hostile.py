"""Hostile FastCGI clients against a running pool (issue: reliability).

Each case runs while a well-behaved client keeps sending requests; every one of those must
succeed, the manager must stay up, no worker may crash, and a client that stalls holds a worker
for a bounded time only:
- garbage, truncated records, absurd lengths, oversized params: the connection is closed at
  once (the codec's error; params are bounded at 1 MiB per request);
- silent clients (slowloris), as many as there are workers: request_read_timeout (2 s here)
  frees the workers; php-fpm would wait forever;
- clients that never read their response: request_write_timeout (2 s here);
- disconnects mid-request and mid-upload: the script ends, the worker serves on.
"""

import base64
import os
import socket
import struct
import threading
import time

import harness
from harness import (FCGI_BEGIN_REQUEST, FCGI_PARAMS, FCGI_RESPONDER, FCGI_STDIN,
                     BackendTestCase, _fcgi_record, fcgi_encode_params, fcgi_request,
                     parse_cgi_response, php_params, wait_until)

READ_TIMEOUT = 2
WRITE_TIMEOUT = 2
WORKERS = 2


def begin(req_id=1):
    return _fcgi_record(FCGI_BEGIN_REQUEST, req_id, struct.pack('!HB5x', FCGI_RESPONDER, 0))


def request_bytes(params, stdin=b'', end_stdin=True):
    msg = begin() + _fcgi_record(FCGI_PARAMS, 1, fcgi_encode_params(params))
    msg += _fcgi_record(FCGI_PARAMS, 1)
    if stdin:
        msg += _fcgi_record(FCGI_STDIN, 1, stdin)
    if end_stdin:
        msg += _fcgi_record(FCGI_STDIN, 1)
    return msg


class GoodTraffic:
    """A well-behaved client in a thread: one request after another until stopped."""

    def __init__(self, sock_path):
        self.sock_path = sock_path
        self.ok = 0
        self.failures = []
        self.slowest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                out, _err, _ = fcgi_request(self.sock_path, php_params('pid.php'), timeout=20)
                status, _h, body = parse_cgi_response(out)
                if status == 200 and body.isdigit():
                    self.ok += 1
                else:
                    self.failures.append('status %d: %r' % (status, body[:100]))
            except Exception as e:  # noqa: BLE001 (any failure of a good request counts)
                self.failures.append(repr(e))
            self.slowest = max(self.slowest, time.monotonic() - t0)
            time.sleep(0.01)

    def stop(self):
        self._stop.set()
        self._thread.join(30)
        return self


def connect(path, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def closed_by_peer(s, timeout):
    """True when the server closes (EOF or reset) within timeout; whatever it sent first is
    read and dropped."""
    s.settimeout(timeout)
    try:
        while s.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


class HostileClientTest(BackendTestCase):
    POOL_INI = ('pm = static\npm.max_children = %d\n'
                'request_read_timeout = %ds\nrequest_write_timeout = %ds\n'
                % (WORKERS, READ_TIMEOUT, WRITE_TIMEOUT))

    def setUp(self):
        self.manager = self.backend.pid
        def all_workers():
            pids = self.backend.worker_pids()  # one look: the list checked is the one returned
            return len(pids) == WORKERS and sorted(pids)

        self.workers = wait_until(all_workers, 10, what='%d workers' % WORKERS)
        self.log_mark = len(self.backend.log_text())
        self.good = GoodTraffic(self.backend.socket_path)
        time.sleep(0.1)

    def new_log(self):
        return self.backend.log_text()[self.log_mark:]

    def finish(self, max_wait):
        """The good client's verdict, and the pool's: all served, manager up, nothing crashed,
        no good request waited longer than max_wait seconds."""
        time.sleep(0.3)
        good = self.good.stop()
        self.assertEqual(good.failures, [], 'well-behaved requests failed')
        self.assertGreater(good.ok, 0)
        self.assertLess(good.slowest, max_wait, 'a well-behaved request waited too long')
        self.assertTrue(self.backend.alive(), 'the manager is gone')
        self.assertEqual(self.backend.pid, self.manager)
        log = self.new_log()
        self.assertNotIn('exited on signal', log)
        self.assertNotRegex(log, r'exited with code [1-9]')
        # the same workers serve on: no hostile client cost a worker its life
        now = sorted(self.backend.worker_pids())
        self.assertEqual(now, self.workers, 'the workers changed')
        return good

    def test_random_bytes(self):
        rnd = os.urandom(1 << 16)
        for i in range(40):
            s = connect(self.backend.socket_path)
            start = (i * 997) % (len(rnd) - 4096)
            try:
                s.sendall(rnd[start:start + 1 + i * 97])
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed already: what we want
            self.assertTrue(closed_by_peer(s, READ_TIMEOUT + 3), 'garbage: not closed')
            s.close()
        self.finish(max_wait=3)
        self.assertIn('malformed FastCGI', self.new_log())

    def test_truncated_record_then_silence_and_close(self):
        # a header promising 1000 bytes, 10 of them, then nothing: the read timeout closes it
        s = connect(self.backend.socket_path)
        s.sendall(begin() + struct.pack('!BBHHBB', 1, FCGI_PARAMS, 1, 1000, 0, 0) + b'x' * 10)
        t0 = time.monotonic()
        self.assertTrue(closed_by_peer(s, READ_TIMEOUT + 3), 'truncated record: not closed')
        self.assertGreater(time.monotonic() - t0, READ_TIMEOUT - 0.5)
        s.close()
        # the same, closed by the client
        s = connect(self.backend.socket_path)
        s.sendall(begin() + struct.pack('!BBHHBB', 1, FCGI_PARAMS, 1, 1000, 0, 0) + b'x' * 10)
        s.close()
        self.finish(max_wait=READ_TIMEOUT + 2)
        self.assertIn('sent nothing for %d s (request_read_timeout)' % READ_TIMEOUT,
                      self.new_log())

    def test_absurd_lengths(self):
        cases = [
            # a name length of 2 GiB inside a params record
            begin() + _fcgi_record(FCGI_PARAMS, 1, struct.pack('!II', 0xFFFFFFFF, 0x80000001)),
            # an unknown FastCGI version
            b'\x07' + begin()[1:],
            # STDIN before the end of PARAMS
            begin() + _fcgi_record(FCGI_PARAMS, 1, b'\x01\x01ab') + _fcgi_record(FCGI_STDIN, 1,
                                                                              b'body'),
        ]
        for data in cases:
            s = connect(self.backend.socket_path)
            s.sendall(data)
            # at once: well before request_read_timeout would close it
            self.assertTrue(closed_by_peer(s, READ_TIMEOUT - 1), 'not closed: %r' % data[:16])
            s.close()
        self.finish(max_wait=3)

    def test_params_of_many_megabytes(self):
        s = connect(self.backend.socket_path)
        s.sendall(begin())
        sent = 0
        record = _fcgi_record(FCGI_PARAMS, 1, fcgi_encode_params({'HTTP_X': 'a' * 60000}))
        try:
            while sent < 64 << 20:  # 64 MiB: the pool closes after its 1 MiB bound
                s.sendall(record)
                sent += len(record)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        self.assertLess(sent, 8 << 20, 'the pool read %d bytes of params' % sent)
        s.close()
        self.finish(max_wait=3)
        self.assertIn('malformed FastCGI', self.new_log())

    def test_silent_clients_as_many_as_workers(self):
        # slowloris: every worker holds a connection that sends nothing (or only BEGIN)
        silent = [connect(self.backend.socket_path) for _ in range(WORKERS)]
        silent[0].sendall(begin())
        t0 = time.monotonic()
        for s in silent:
            self.assertTrue(closed_by_peer(s, READ_TIMEOUT + 3), 'a silent client kept its worker')
            s.close()
        held = time.monotonic() - t0
        self.assertGreater(held, READ_TIMEOUT - 0.5)
        good = self.finish(max_wait=READ_TIMEOUT + 2)
        # the good client really waited behind them (the test would not notice a stall else)
        self.assertGreater(good.slowest, READ_TIMEOUT / 2)

    def test_clients_that_never_read_their_response(self):
        stuck = []
        for _ in range(WORKERS):
            s = connect(self.backend.socket_path)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(request_bytes(php_params('big.php', query='mb=16')))
            stuck.append(s)
        time.sleep(WRITE_TIMEOUT + 2)
        good = self.finish(max_wait=WRITE_TIMEOUT + 3)
        self.assertIn('took no response bytes for %d s (request_write_timeout)' % WRITE_TIMEOUT,
                      self.new_log())
        self.assertGreater(good.ok, 0)
        for s in stuck:
            s.close()

    def test_disconnect_mid_request_and_mid_upload(self):
        for _ in range(3):
            s = connect(self.backend.socket_path)
            s.sendall(request_bytes(php_params('sleep.php', query='s=0.3')))
            s.close()  # mid-request: the script runs on, its output goes nowhere
        body = os.urandom(1 << 20)
        for _ in range(3):
            s = connect(self.backend.socket_path)
            params = php_params('info.php', method='POST',
                                extra={'CONTENT_TYPE': 'application/octet-stream',
                                       'CONTENT_LENGTH': str(10 << 20)})
            s.sendall(request_bytes(params, stdin=body[:60000], end_stdin=False))
            s.sendall(_fcgi_record(FCGI_STDIN, 1, body[:60000]))
            s.close()  # mid-upload
        self.finish(max_wait=3)


class AccessLogInjectionTest(harness.StackTestCase):
    """What a client sends cannot start a line of its own in the access log: %u is the decoded
    Basic-auth user, which may hold a newline."""

    @classmethod
    def start_backend(cls):
        cls.POOL_INI = ('pm = static\npm.max_children = 1\n'
                        'access.log = %s/access.log\naccess.format = "%%u|%%m"\n' % cls.tmp)
        return super().start_backend()

    def test_control_characters_are_escaped(self):
        if harness.is_fpm():
            self.skipTest('php-fpm writes the user as the client sent it')
        user = base64.b64encode(b'alice\ncd;id>/tmp/owned\n#:pw').decode()
        self.assertEqual(self.get('/pid.php', {'Authorization': 'Basic ' + user}).status, 200)
        path = os.path.join(self.tmp, 'access.log')
        wait_until(lambda: os.path.exists(path) and harness.read_text(path), 5, what='the line')
        self.assertEqual(harness.read_text(path), 'alice\\x0acd;id>/tmp/owned\\x0a#|GET\n')


class PlantedLinkCase(harness.StackTestCase):
    """A symbolic link to a file root owns, planted (by the pool's user, in a directory it may
    write to) at the path of a log the manager opens as root: LOG, set up by POOL_LINES (with
    %s for the temporary directory)."""
    LOG = ''
    POOL_LINES = ''

    @classmethod
    def start_backend(cls):
        cls.target = os.path.join(cls.tmp, 'root-owned-target')
        os.symlink(cls.target, os.path.join(cls.tmp, cls.LOG))
        cls.POOL_INI = 'pm = static\npm.max_children = 1\n' + cls.POOL_LINES % cls.tmp
        return super().start_backend()

    def setUp(self):
        if harness.is_fpm():
            self.skipTest('php-fpm follows the link')


class AccessLogSymlinkTest(PlantedLinkCase):
    LOG = 'access.log'
    POOL_LINES = 'access.log = %s/access.log\n'

    def test_link_not_followed(self):
        self.assertEqual(self.get('/pid.php').status, 200)
        self.assertFalse(os.path.exists(self.target))
        self.assertIn('does not follow a symbolic link', self.backend.log_text())


class SlowlogSymlinkTest(PlantedLinkCase):
    LOG = 'slow.log'
    POOL_LINES = 'request_slowlog_timeout = 1s\nslowlog = %s/slow.log\n'

    def test_link_not_followed(self):
        self.assertEqual(self.get('/sleep.php?s=1.6').status, 200)
        wait_until(lambda: 'symbolic links' in self.backend.log_text(), 5,
                   what='the slowlog failure in the log')
        self.assertFalse(os.path.exists(self.target))

if __name__ == '__main__':
    harness.main()
