"""The FastCGI side without nginx: a raw client in python and libfcgi's cgi-fcgi."""

import json
import os
import select
import signal
import socket
import struct
import time
import unittest

import harness
from harness import (BackendTestCase, FcgiConnection, cgi_fcgi, fcgi_request, md5,
                     parse_cgi_response, php_params)


class FastCgiTest(BackendTestCase):
    POOL_INI = 'pm = static\npm.max_children = 2\n'

    def test_simple_get(self):
        out, err, app_status = fcgi_request(self.backend.socket_path,
                                            php_params('info.php', query='a=1'))
        status, headers, body = parse_cgi_response(out)
        self.assertEqual(status, 200)
        self.assertIn(('Content-Type', 'application/json'), headers)
        self.assertEqual(err, b'')
        self.assertEqual(app_status, 0)
        j = json.loads(body)
        self.assertEqual(j['get'], {'a': '1'})
        self.assertEqual(j['server']['SCRIPT_NAME'], '/info.php')

    def test_default_headers(self):
        out, _err, _ = fcgi_request(self.backend.socket_path, php_params('pid.php'))
        status, headers, body = parse_cgi_response(out)
        self.assertEqual(status, 200)
        # no Status: line for 200; the default type from default_mimetype/default_charset
        self.assertEqual([k for k, _ in headers if k.lower() == 'status'], [])
        self.assertIn(('Content-type', 'text/html; charset=UTF-8'), headers)
        self.assertTrue(body.isdigit())

    def test_post_stdin(self):
        body = os.urandom(200000)
        out, _err, _ = fcgi_request(
            self.backend.socket_path,
            php_params('info.php', method='POST', body=body,
                       extra={'CONTENT_TYPE': 'application/octet-stream'}), stdin=body)
        status, _headers, resp = parse_cgi_response(out)
        self.assertEqual(status, 200)
        j = json.loads(resp)
        self.assertEqual(j['input_len'], len(body))
        self.assertEqual(j['input_md5'], md5(body))

    def test_status_line(self):
        out, _err, _ = fcgi_request(self.backend.socket_path,
                                    php_params('status.php', query='code=418'))
        status, headers, _ = parse_cgi_response(out)
        self.assertEqual(status, 418)

    def test_php_errors_go_to_fcgi_stderr(self):
        out, err, _ = fcgi_request(self.backend.socket_path, php_params('fatal.php'))
        status, _h, body = parse_cgi_response(out)
        self.assertEqual(status, 500)
        self.assertEqual(body, b'output before fatal\n')
        self.assertIn(b'PHP Fatal error:  Uncaught Error: Call to undefined function', err)

    def test_php_messages_leave_as_one_stderr_record(self):
        # as php-fpm's: nginx logs each STDERR record as a line of its own
        with FcgiConnection(self.backend.socket_path) as c:
            out, err, _ = c.request(php_params('warnings.php'))
            stderr = [x for t, x in c.records if t == harness.FCGI_STDERR and x]
        self.assertEqual(parse_cgi_response(out)[2], b'done\n')
        self.assertEqual(len(stderr), 1, stderr)
        self.assertEqual(err.count(b'PHP Warning:  warning '), 3, err)
        self.assertEqual(err.count(b'; '), 2, err)

    def test_missing_script(self):
        out, err, _ = fcgi_request(self.backend.socket_path, php_params('missing.php'))
        status, _h, body = parse_cgi_response(out)
        self.assertEqual(status, 404)
        self.assertEqual(body, b'File not found.\n')
        self.assertIn(b'Primary script unknown', err)

    def test_keep_conn_several_requests_on_one_connection(self):
        with FcgiConnection(self.backend.socket_path) as c:
            pids = set()
            for i in range(10):
                out, _err, app_status = c.request(php_params('info.php', query='i=%d' % i),
                                                  keep_conn=True)
                status, _h, body = parse_cgi_response(out)
                self.assertEqual(status, 200)
                j = json.loads(body)
                self.assertEqual(j['get'], {'i': str(i)})
                pids.add(j['pid'])
            # one connection is served by one worker
            self.assertEqual(len(pids), 1)
            # a request without FCGI_KEEP_CONN: the server closes the connection after it
            out, _err, _ = c.request(php_params('pid.php'), keep_conn=False)
            self.assertEqual(parse_cgi_response(out)[0], 200)
            c.sock.settimeout(5)
            self.assertEqual(c.sock.recv(1), b'', 'connection not closed without FCGI_KEEP_CONN')

    def test_request_ids_other_than_one(self):
        with FcgiConnection(self.backend.socket_path) as c:
            for rid in (2, 300, 65535):
                out, _err, _ = c.request(php_params('pid.php'), keep_conn=True, req_id=rid)
                self.assertEqual(parse_cgi_response(out)[0], 200)

    def test_long_params(self):
        # names/values of 128+ bytes use the 4-byte length encoding
        long_value = 'v' * 30000  # (php-fpm cannot parse a pair split across records)
        out, _err, _ = fcgi_request(self.backend.socket_path,
                                    php_params('info.php', extra={'HTTP_X_LONG_HEADER': long_value,
                                                                  'HTTP_X_' + 'N' * 200: 'n'}))
        status, _h, body = parse_cgi_response(out)
        self.assertEqual(status, 200)
        s = json.loads(body)['server']
        self.assertEqual(s['HTTP_X_LONG_HEADER'], long_value)
        self.assertEqual(s['HTTP_X_' + 'N' * 200], 'n')

    def test_a_param_sent_twice_counts_with_its_last_value(self):
        # nginx repeats a fastcgi_param set again after `include fastcgi.conf` (a front
        # controller's SCRIPT_FILENAME): php-fpm takes the last, for everything it derives.
        params = list(php_params('pid.php', query='a=1',
                                 extra={'HTTP_COOKIE': 'c=1', 'HTTP_X_DUP': '1'}).items())
        params += [('SCRIPT_FILENAME', os.path.join(harness.WWW, 'info.php')),
                   ('SCRIPT_NAME', '/info.php'), ('QUERY_STRING', 'b=2'),
                   ('HTTP_COOKIE', 'c=2'), ('HTTP_X_DUP', '2')]
        out, _err, _ = fcgi_request(self.backend.socket_path, params)
        status, _h, body = parse_cgi_response(out)
        self.assertEqual(status, 200, body)
        j = json.loads(body)  # info.php ran, not pid.php
        self.assertEqual(j['get'], {'b': '2'})
        self.assertEqual(j['cookie'], {'c': '2'})
        self.assertEqual(j['server']['QUERY_STRING'], 'b=2')
        self.assertEqual(j['server']['PHP_SELF'], '/info.php')
        self.assertEqual(j['server']['HTTP_X_DUP'], '2')

    def test_get_values(self):
        with FcgiConnection(self.backend.socket_path) as c:
            values = c.get_values(['FCGI_MPXS_CONNS'])
        self.assertEqual(values.get('FCGI_MPXS_CONNS'), '0')

    def test_client_closing_early_does_not_break_the_pool(self):
        # half a request, then the client goes away
        for _ in range(3):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.backend.socket_path)
            s.sendall(struct.pack('!BBHHBB', 1, 1, 1, 8, 0, 0) + struct.pack('!HB5x', 1, 0))
            s.close()
        out, _err, _ = fcgi_request(self.backend.socket_path, php_params('pid.php'))
        self.assertEqual(parse_cgi_response(out)[0], 200)

    def test_unknown_role_is_refused_and_the_connection_closed(self):
        # A role no one knows, without FCGI_KEEP_CONN: the connection closes at once (php-pool
        # held it until request_read_timeout, 30 s: a few such connections took every worker
        # of the pool). php-pool answers END_REQUEST(UNKNOWN_ROLE) first; php-fpm closes
        # without a word.
        for _ in range(3):  # more than the pool's 2 workers
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(self.backend.socket_path)
            t0 = time.monotonic()
            s.sendall(struct.pack('!BBHHBB', 1, 1, 7, 8, 0, 0) + struct.pack('!HB5x', 0x1234, 0))
            data = b''
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.close()
            self.assertLess(time.monotonic() - t0, 2, 'the refused connection was held open')
            if not harness.is_fpm():
                # END_REQUEST for id 7: appStatus 0, protocolStatus 3 (FCGI_UNKNOWN_ROLE)
                self.assertEqual(data, struct.pack('!BBHHBx', 1, 3, 7, 8, 0) +
                                 struct.pack('!IB3x', 0, 3))
        out, _err, _ = fcgi_request(self.backend.socket_path, php_params('pid.php'))
        self.assertEqual(parse_cgi_response(out)[0], 200)

    @unittest.skipUnless(os.access(harness.CGI_FCGI_BIN, os.X_OK), 'cgi-fcgi (libfcgi-bin) missing')
    def test_cgi_fcgi_tool(self):
        params = php_params('info.php', method='POST', query='via=cgi-fcgi', body=b'k=v',
                            extra={'CONTENT_TYPE': 'application/x-www-form-urlencoded'})
        rc, out, err = cgi_fcgi(self.backend.socket_path, params, stdin=b'k=v')
        self.assertEqual(rc, 0, err)
        status, headers, body = parse_cgi_response(out)
        self.assertEqual(status, 200)
        j = json.loads(body)
        self.assertEqual(j['get'], {'via': 'cgi-fcgi'})
        self.assertEqual(j['post'], {'k': 'v'})


class RequestIniTest(BackendTestCase):
    """PHP_VALUE and PHP_ADMIN_VALUE, php.ini lines a web server sends with a request (nginx:
    fastcgi_param PHP_VALUE "upload_max_filesize=64M \\n post_max_size=64M")."""
    POOL_INI = 'pm = static\npm.max_children = 1\n'  # one worker: the next request sees what is left

    def ini(self, query='', **extra):
        out, _err, _ = fcgi_request(self.backend.socket_path,
                                    php_params('ini.php', query=query, extra=extra))
        return json.loads(parse_cgi_response(out)[2])

    def test_values_apply_and_admin_values_are_locked(self):
        j = self.ini('set=1', PHP_VALUE='precision=5\nuser_agent = "from the server"',
                     PHP_ADMIN_VALUE='default_socket_timeout=3')
        self.assertEqual(j['set']['user_agent'], 'from the server')  # the value before ini_set
        self.assertEqual(j['set']['precision'], '5')
        self.assertIs(j['set']['default_socket_timeout'], False)  # locked for the script
        self.assertEqual(j['ini']['default_socket_timeout'], '3')

    def test_values_act_while_the_request_starts(self):
        body = b'a=' + b'x' * 3000
        def post(**extra):
            out, _err, _ = fcgi_request(
                self.backend.socket_path,
                php_params('info.php', method='POST', body=body,
                           extra=dict(CONTENT_TYPE='application/x-www-form-urlencoded', **extra)),
                stdin=body)
            return json.loads(parse_cgi_response(out)[2])['post']
        self.assertEqual(post()['a']['len'], 3000)
        self.assertEqual(post(PHP_VALUE='post_max_size=1K'), [])  # too big: PHP drops it

    def test_values_end_with_the_request(self):
        if harness.is_fpm():
            self.skipTest("php-fpm keeps them for its worker's next requests, whoever sends them")
        self.ini(PHP_VALUE='precision=5', PHP_ADMIN_VALUE='default_socket_timeout=3')
        j = self.ini('set=1')
        self.assertEqual(j['set']['precision'], '14')  # php.ini's
        self.assertEqual(j['set']['default_socket_timeout'], '60')  # and changeable again


class KeptConnectionTakesItsTurnTest(BackendTestCase):
    """One worker, a kept connection, and new connections queued without pause (nginx opens
    more than its `keepalive N` under load): the kept connection's next request is served in
    turn, not after every new connection (php-pool used to serve new ones first)."""

    POOL_INI = 'pm = static\npm.max_children = 1\n'

    def test_kept_connection_is_not_starved_by_new_ones(self):
        if harness.is_fpm():
            self.skipTest("php-fpm's worker serves only its kept connection until it closes")
        sock = self.backend.socket_path
        with FcgiConnection(sock) as kept:
            out, _err, _ = kept.request(php_params('pid.php'), keep_conn=True)
            self.assertEqual(parse_cgi_response(out)[0], 200)
            news = []
            try:
                for _ in range(12):  # 12 x 100 ms of work queued on new connections
                    c = FcgiConnection(sock)
                    c.send(php_params('sleep.php', query='s=0.1'))
                    news.append(c)
                time.sleep(0.03)  # the worker is on the first of them
                kept.send(php_params('pid.php'), keep_conn=True)
                t0 = time.monotonic()
                out, _err, _ = kept.receive()
                waited = time.monotonic() - t0
                self.assertEqual(parse_cgi_response(out)[0], 200)
                # Answered new connections have their response waiting to be read.
                answered = sum(1 for c in news if select.select([c.sock], [], [], 0)[0])
                self.assertLessEqual(answered, 2, 'the kept connection waited for %d new ones '
                                     '(%.2f s)' % (answered, waited))
                for c in news:  # and every new one is served after it
                    self.assertEqual(parse_cgi_response(c.receive()[0])[0], 200)
            finally:
                for c in news:
                    c.close()



def served_pid(test, conn):
    """pid.php on a kept connection: the pid of the worker that served it."""
    out, _err, _ = conn.request(php_params('pid.php'), keep_conn=True)
    status, _h, body = parse_cgi_response(out)
    test.assertEqual(status, 200)
    return int(body)


class KeptConnectionOutlivesItsWorkerTest(BackendTestCase):
    """A worker that leaves (pm.max_requests, a reload) hands its kept connections on to the
    next worker instead of closing them: the web server's next request on one is served, where
    it used to find the connection closed (or have it closed under it, a POST then failing)."""

    POOL_INI = 'pm = static\npm.max_children = 1\npm.max_requests = 2\n'

    def setUp(self):
        super().setUp()
        if harness.is_fpm():
            self.skipTest('php-fpm closes its kept connections when the worker leaves')

    def test_kept_connection_survives_a_reload(self):
        with FcgiConnection(self.backend.socket_path) as kept:
            before = served_pid(self, kept)
            self.backend.signal(signal.SIGHUP)
            harness.wait_until(lambda: before not in self.backend.worker_pids(), 10,
                               what='the old worker gone')
            self.assertNotEqual(served_pid(self, kept), before)

    def test_kept_connection_survives_max_requests(self):
        with FcgiConnection(self.backend.socket_path) as kept:
            pids = []
            for _ in range(5):  # a new worker after every second request
                out, _err, _ = kept.request(php_params('pid.php'), keep_conn=True)
                status, _h, body = parse_cgi_response(out)
                self.assertEqual(status, 200)
                pids.append(int(body))
            self.assertEqual(len(set(pids)), 3, pids)  # three workers served the one connection



class KeptConnectionsGoToTheNewWorkersTest(BackendTestCase):
    """A reload hands every kept connection of the old workers on to the new ones, spread over
    them, which serve the next requests on them (they were closed: nginx retried a GET on a new
    connection and answered 502 to a POST)."""

    POOL_INI = 'pm = static\npm.max_children = 4\n'

    def test_every_kept_connection_is_served_after_a_reload(self):
        if harness.is_fpm():
            self.skipTest('php-fpm closes its kept connections at a reload')
        conns = [FcgiConnection(self.backend.socket_path) for _ in range(8)]
        try:
            for c in conns:
                out, _err, _ = c.request(php_params('pid.php'), keep_conn=True)
                self.assertEqual(parse_cgi_response(out)[0], 200)
            old = set(self.backend.worker_pids())
            self.backend.signal(signal.SIGHUP)
            harness.wait_until(lambda: not old & set(self.backend.worker_pids()), 10,
                               what='the old workers gone')
            for c in conns:  # all at once: each worker serves the ones it holds
                c.send(php_params('sleep.php', query='s=0.2'), keep_conn=True)
            served_by = {}
            for c in conns:
                out, _err, _ = c.receive()
                body = parse_cgi_response(out)[2]
                self.assertTrue(body.startswith(b'slept '), body)
                pid = int(body.split()[1])
                served_by[pid] = served_by.get(pid, 0) + 1
            self.assertFalse(old & set(served_by), served_by)
            self.assertEqual(sum(served_by.values()), 8)
            # Spread: not all to the first new worker up (the others get a moment to start).
            self.assertLessEqual(max(served_by.values()), 6, served_by)
        finally:
            for c in conns:
                c.close()


class KeptConnectionLeavesABusyWorkerTest(BackendTestCase):
    """A request on a kept connection whose worker runs a long request is served by an idle
    worker within a few tens of milliseconds: it waited for the long request to end (nginx
    picks any of its kept connections, and a 1.5 s report page beside fast ones gave the fast
    ones a p99 of 1.45 s)."""

    POOL_INI = 'pm = static\npm.max_children = 2\n'

    def test_a_kept_connection_does_not_wait_for_its_busy_worker(self):
        if harness.is_fpm():
            self.skipTest("php-fpm: a kept connection is its worker's until it closes")
        busy, slow, waiting = (FcgiConnection(self.backend.socket_path) for _ in range(3))
        try:
            # One worker busy, so that both kept connections below park with the other.
            busy.send(php_params('sleep.php', query='s=1'), keep_conn=True)
            time.sleep(0.3)
            holder = served_pid(self, slow)
            self.assertEqual(served_pid(self, waiting), holder)
            other = int(parse_cgi_response(busy.receive()[0])[2].split()[1])
            self.assertNotEqual(other, holder)
            # The holder runs a long request; a request arrives on the other kept connection.
            slow.send(php_params('sleep.php', query='s=3'), keep_conn=True)
            time.sleep(0.3)
            start = time.monotonic()
            served_by = served_pid(self, waiting)
            elapsed = time.monotonic() - start
            self.assertEqual(served_by, other)
            self.assertLess(elapsed, 1.0)  # it waited the 2.7 s left of the long request before
            body = parse_cgi_response(slow.receive()[0])[2]
            self.assertEqual(body, b'slept %d' % holder)
            # Back with the worker that took it, the connection keeps serving.
            self.assertEqual(served_pid(self, waiting), other)
        finally:
            for c in (busy, slow, waiting):
                c.close()


class KeptConnectionOutlivesAKilledRequestTest(BackendTestCase):
    """A worker whose request request_terminate_timeout is about to kill sends its kept
    connections on first, and its replacement serves them: they were reset with it (nginx
    answers 502 to a POST sent on one)."""

    POOL_INI = 'pm = static\npm.max_children = 1\nrequest_terminate_timeout = 2s\n'

    def test_kept_connection_is_served_by_the_replacement(self):
        if harness.is_fpm():
            self.skipTest('php-fpm resets the kept connections of the worker it kills')
        with FcgiConnection(self.backend.socket_path) as kept, \
                FcgiConnection(self.backend.socket_path) as slow:
            killed = served_pid(self, kept)
            slow.send(php_params('sleep.php', query='s=6'), keep_conn=True)
            harness.wait_until(lambda: killed not in self.backend.worker_pids(), 10,
                               what='the worker killed at request_terminate_timeout')
            self.assertNotEqual(served_pid(self, kept), killed)


if __name__ == '__main__':
    harness.main()
