"""A real NOTIFY_SOCKET for tests: what systemd's manager would receive from php-pool.

A unix datagram socket with SO_PASSCRED, so every message comes with the sender's credentials
(SCM_CREDENTIALS): the tests check that each notification comes from the manager's pid, never
from a worker (NotifyAccess=main would drop those). A thread collects the messages with the
monotonic time of their arrival.
"""

import os
import re
import socket
import struct
import threading
import time

# php-fpm's exact STATUS= wording (fpm_systemd.c), which php-pool keeps.
STATUS_RE = re.compile(r'^Processes active: \d+, idle: \d+, Requests: \d+, slow: \d+, '
                       r'Traffic: [0-9.e+-]+req/sec$')


class Message:
    def __init__(self, at, pid, text):
        self.at = at          # time.monotonic() on arrival
        self.pid = pid        # sender pid from SCM_CREDENTIALS
        self.text = text
        self.fields = {}
        for line in text.split('\n'):
            key, sep, value = line.partition('=')
            if sep:
                self.fields[key] = value

    def __repr__(self):
        return '<%.3f pid=%s %r>' % (self.at, self.pid, self.text)


class NotifyListener:
    def __init__(self, path):
        self.path = path
        self.messages = []
        self._cond = threading.Condition()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.2)
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                data, anc, _flags, _addr = self.sock.recvmsg(65536, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid, _uid, _gid = struct.unpack('iII', payload[:12])
            msg = Message(time.monotonic(), pid, data.decode('utf-8', 'replace'))
            with self._cond:
                self.messages.append(msg)
                self._cond.notify_all()

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def snapshot(self):
        with self._cond:
            return list(self.messages)

    def mark(self):
        """An index into the messages: wait_for(..., since=mark) looks only at later ones."""
        with self._cond:
            return len(self.messages)

    def wait_for(self, pred, timeout=10, since=0, what='notification'):
        """The first message from index `since` on for which pred(msg) holds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages[since:]:
                    if pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError('no %s within %ss; got: %r'
                                         % (what, timeout, self.messages[since:][-20:]))
                self._cond.wait(left)

    def wait_field(self, key, value=None, timeout=10, since=0):
        return self.wait_for(lambda m: key in m.fields and (value is None or
                                                            m.fields[key] == value),
                             timeout, since, what='%s=%s' % (key, value or '*'))

    def with_field(self, key, since=0):
        return [m for m in self.snapshot()[since:] if key in m.fields]
