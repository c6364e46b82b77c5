"""Shared pieces of the systemd tests (tier 1, without systemd): php-pool started by
systemd-socket-activate with a real NOTIFY_SOCKET, and FastCGI requests over unix and TCP.

The integration harness (tests/integration/harness.py) provides the process helpers, nginx and
the FastCGI client; this module adds what socket activation needs.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))

import harness  # noqa: E402
from harness import (_Process, children_of, fcgi_read_record, _fcgi_record,  # noqa: E402
                     fcgi_encode_params, parse_cgi_response, php_params, read_text, wait_until)
from sdnotify import NotifyListener  # noqa: E402

WWW = os.path.join(HERE, 'www')
SOCKET_ACTIVATE = shutil.which('systemd-socket-activate') or '/usr/bin/systemd-socket-activate'


def php_pool_bin():
    b = os.environ.get('PHP_POOL_BIN')
    if not b or not os.access(b, os.X_OK):
        raise RuntimeError('php-pool binary not found: set PHP_POOL_BIN (got %r)' % b)
    return b


def probe_params(query=''):
    return php_params('probe.php', docroot=WWW, query=query)


def fcgi_over(sock, params, timeout=30):
    """One FastCGI request on a connected socket → (status, body bytes)."""
    sock.settimeout(timeout)
    msg = _fcgi_record(1, 1, b'\0\1\0\0\0\0\0\0')  # BEGIN_REQUEST, RESPONDER, no KEEP_CONN
    msg += _fcgi_record(4, 1, fcgi_encode_params(params)) + _fcgi_record(4, 1)
    msg += _fcgi_record(5, 1)
    sock.sendall(msg)
    out = []
    while True:
        rtype, _rid, content = fcgi_read_record(sock)
        if rtype == 6:
            out.append(content)
        elif rtype == 3:
            break
    status, _headers, body = parse_cgi_response(b''.join(out))
    return status, body


def probe_unix(path, query='', timeout=30):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        status, body = fcgi_over(s, probe_params(query), timeout)
    if status != 200:
        raise AssertionError('probe answered %d: %r' % (status, body[:500]))
    return json.loads(body)


def probe_tcp(port, query='', timeout=30):
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        status, body = fcgi_over(s, probe_params(query), timeout)
    if status != 200:
        raise AssertionError('probe answered %d: %r' % (status, body[:500]))
    return json.loads(body)


class Activated(_Process):
    """php-pool behind systemd-socket-activate: a unix socket and a TCP socket, both named,
    NOTIFY_SOCKET and WATCHDOG_USEC set; php-pool is exec'ed (same pid) on the first
    connection, as systemd starts a socket-activated service."""

    name = 'socket-activated php-pool'

    def __init__(self, tmp, pool_text, global_text='', args=(), watchdog_usec=1000000):
        super().__init__()
        self.tmp = tmp
        self.conf_path = os.path.join(tmp, 'pool.conf')
        self.unix_path = os.path.join(tmp, 'activated.sock')
        self.log_path = os.path.join(tmp, 'php-pool.log')
        self.write_conf(pool_text, global_text)
        self.notify = NotifyListener(os.path.join(tmp, 'notify.sock'))
        self.watchdog_usec = watchdog_usec
        env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin')}
        last = None
        for _attempt in range(3):  # a free port may be taken before we bind it
            self.port = harness.free_port()
            argv = [SOCKET_ACTIVATE,
                    '-l', self.unix_path, '-l', '127.0.0.1:%d' % self.port,
                    '--fdname=fastcgi:fastcgi-tcp',
                    '-E', 'NOTIFY_SOCKET=' + self.notify.path,
                    '-E', 'WATCHDOG_USEC=%d' % watchdog_usec,
                    # never the machine's system bus: php-pool warns once and serves on
                    '-E', 'DBUS_SYSTEM_BUS_ADDRESS=unix:path=%s/no-bus' % tmp,
                    php_pool_bin(), '--config', self.conf_path, '-R'] + list(args)
            self.log_file = open(self.log_path, 'ab')
            self.proc = subprocess.Popen(argv, env=env, cwd=tmp, stdin=subprocess.DEVNULL,
                                         stdout=self.log_file, stderr=subprocess.STDOUT,
                                         start_new_session=True)
            try:
                wait_until(lambda: 'Listening on 127.0.0.1:%d' % self.port in self.log_text()
                           or self.proc.poll() is not None, 10, what='systemd-socket-activate')
            except AssertionError as e:
                last = e
            if self.proc.poll() is None:
                return
            last = RuntimeError('systemd-socket-activate exited: %s' % self.log_text())
            self.log_file.close()
        self.notify.close()
        raise last

    def write_conf(self, pool_text, global_text=''):
        text = ''
        if global_text:
            text += '[global]\n%s\n\n' % global_text.strip('\n')
        text += '[www]\nlisten = %s/ignored.sock\n%s\n' % (self.tmp, pool_text.strip('\n'))
        with open(self.conf_path, 'w') as f:
            f.write(text)

    def exe(self):
        try:
            return os.readlink('/proc/%d/exe' % self.pid)
        except OSError:
            return None

    def log_text(self):
        return read_text(self.log_path)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        try:
            return super().stop(sig, timeout)
        finally:
            self.notify.close()
            if not self.log_file.closed:
                self.log_file.close()


def zombie_children(pid):
    """Children of pid that have exited and were not reaped."""
    out = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as f:
                rest = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(rest[1]) == pid and rest[0] == 'Z':
            out.append(int(name))
    return out


__all__ = ['Activated', 'NotifyListener', 'WWW', 'children_of', 'harness', 'probe_tcp',
           'probe_unix', 'wait_until', 'zombie_children', 'time']
