"""The pool's D-Bus object (DESIGN.md "D-Bus"), end to end and with real parts only: a private
dbus-daemon configured like the system bus (with policy/dbus/org.phppool.Pool1.conf), the real
php-pool binary fed by a raw FastCGI client, and busctl / dbus-send / the php-pool clients as
callers (as root and as nobody).

Running by hand::

    PHP_POOL_BIN=/tmp/build/src/php-pool python3 tests/dbus/test_dbus.py -v
    PHP_POOL_BIN=... python3 tests/dbus/test_dbus.py -v PoolBusTest.test_reload_changes_pm

PHP_POOL_KEEP_TMP=1 keeps the temporary directories (bus config, pool file, logs).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

import harness  # noqa: E402

DBUS_DAEMON = shutil.which('dbus-daemon') or '/usr/bin/dbus-daemon'
BUSCTL = shutil.which('busctl') or '/usr/bin/busctl'
DBUS_SEND = shutil.which('dbus-send') or '/usr/bin/dbus-send'
RUNUSER = shutil.which('runuser') or '/usr/sbin/runuser'
POLICY = os.path.join(ROOT, 'policy', 'dbus', 'org.phppool.Pool1.conf')

INSTANCE = 'example.com'  # --instance: the identity; its LABEL is escaped
BUS_NAME = 'org.phppool.Pool1.example_2ecom'
OBJECT = '/org/phppool/Pool1'
IFACE = 'org.phppool.Pool1'
PROPERTIES = {
    'Pool': 's', 'ProcessManager': 's', 'State': 's', 'StartTime': 't',
    'AcceptedConnections': 't', 'ListenQueue': 'u', 'MaxListenQueue': 'u',
    'ListenQueueLength': 'u', 'IdleProcesses': 'u', 'ActiveProcesses': 'u',
    'TotalProcesses': 'u', 'MaxActiveProcesses': 'u', 'MaxChildrenReached': 'u',
    'SlowRequests': 't',
}
FPM_STATES = {'Idle', 'Running', 'Reading headers', 'Finishing', 'Ending', 'Starting'}

BUS_CONF = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <!-- the system bus's default policy (/usr/share/dbus-1/system.conf) -->
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>{policy}</include>
{extra}
</busconfig>
"""

# Everyone may send Reload: only the manager's own check stands in the way.
PERMISSIVE_RELOAD = """\
  <policy context="default">
    <allow send_destination_prefix="org.phppool.Pool1" send_interface="org.phppool.Pool1"
           send_member="Reload"/>
  </policy>
"""

POOL_INI = """\
listen.backlog = 64
pm = static
pm.max_children = 3
request_slowlog_timeout = 1s
slowlog = {tmp}/slow.log
"""


def is_root():
    return os.geteuid() == 0


def require_dbus_tools():
    missing = [p for p in (DBUS_DAEMON, BUSCTL, DBUS_SEND) if not os.access(p, os.X_OK)]
    if missing:
        raise unittest.SkipTest('not installed: %s' % ', '.join(missing))


class DbusDaemon(harness._Process):
    """A private dbus-daemon configured as a system bus, listening on SOCKET_PATH."""

    name = 'dbus-daemon'

    def __init__(self, tmp, socket_path, extra='', tag='bus'):
        super().__init__()
        self.socket_path = socket_path
        self.address = 'unix:path=' + socket_path
        self.conf_path = os.path.join(tmp, tag + '.conf')
        with open(self.conf_path, 'w') as f:
            f.write(BUS_CONF.format(socket=socket_path, policy=POLICY, extra=extra))
        self.log_path = os.path.join(tmp, tag + '.log')
        self.log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(
            [DBUS_DAEMON, '--config-file=' + self.conf_path, '--nofork', '--nopidfile',
             '--print-address=1'],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            harness.wait_until(self._ready, 10, what='dbus-daemon on ' + socket_path)
        except BaseException:
            self.stop()
            raise

    def _ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError('dbus-daemon exited: %s' % harness.read_text(self.log_path))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.socket_path)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        try:
            return super().stop(sig, timeout)
        finally:
            if not self.log.closed:
                self.log.close()


class Bus:
    """Callers of the pool's object on one bus: busctl, dbus-send and the php-pool clients."""

    def __init__(self, address):
        self.address = address

    def _run(self, argv, user=None, timeout=60, env=None):
        if user:
            argv = [RUNUSER, '-u', user, '--'] + argv
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=env, text=True)

    def busctl(self, *args, user=None, timeout=60):
        return self._run([BUSCTL, '--address=' + self.address] + list(args), user, timeout)

    def busctl_json(self, *args, user=None, timeout=60):
        r = self.busctl('--json=short', *args, user=user, timeout=timeout)
        if r.returncode != 0:
            raise AssertionError('busctl %s failed (%d): %s' % (' '.join(args), r.returncode,
                                                               r.stderr))
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def get(self, *names, user=None):
        """Property values (decoded from busctl's JSON), one name → one value."""
        rows = self.busctl_json('get-property', BUS_NAME, OBJECT, IFACE, *names, user=user)
        assert len(rows) == len(names), rows
        for name, row in zip(names, rows):
            assert row['type'] == PROPERTIES[name], (name, row)
        values = [row['data'] for row in rows]
        return values[0] if len(names) == 1 else dict(zip(names, values))

    def get_all(self, user=None):
        return self.get(*PROPERTIES, user=user)

    def call(self, method, signature=None, *args, user=None, timeout=60):
        argv = ['--timeout=%d' % timeout, 'call', BUS_NAME, OBJECT, IFACE, method]
        if signature:
            argv += [signature] + [str(a) for a in args]
        rows = self.busctl_json(*argv, user=user, timeout=timeout + 10)
        return rows[0]['data'] if rows else None

    def get_status(self, fmt):
        return self.call('GetStatus', 's', fmt)[0]

    def list_processes(self):
        return [tuple(row) for row in self.call('ListProcesses')[0]]

    def dbus_send(self, method, *args, user=None, timeout=60):
        """→ (returncode, output): dbus-send prints the error NAME, busctl only its message."""
        argv = [DBUS_SEND, '--bus=' + self.address, '--print-reply',
                '--reply-timeout=%d' % (timeout * 1000), '--dest=' + BUS_NAME, OBJECT,
                IFACE + '.' + method] + list(args)
        r = self._run(argv, user, timeout + 10)
        return r.returncode, r.stdout + r.stderr

    def client(self, *args, user=None, timeout=180):
        """php-pool --reload / --status, pointed at this bus."""
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address)
        return self._run([os.environ['PHP_POOL_BIN']] + list(args), user, timeout, env)

    def owner(self):
        """The unique name owning BUS_NAME, or None."""
        r = self.busctl('--json=short', 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus',
                        'org.freedesktop.DBus', 'GetNameOwner', 's', BUS_NAME)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)['data'][0]


class Monitor:
    """busctl monitor on the pool's name, in the background: the messages, as parsed JSON."""

    def __init__(self, bus):
        self.messages = []
        self.proc = subprocess.Popen([BUSCTL, '--address=' + bus.address, '--json=short',
                                      'monitor', BUS_NAME],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True,
                                     start_new_session=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        # busctl says so on stderr once BecomeMonitor succeeded
        line = self.proc.stderr.readline()
        assert 'Monitoring' in line, line

    def _read(self):
        for line in self.proc.stdout:
            line = line.strip()
            if line:
                self.messages.append(json.loads(line))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.thread.join(10)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def properties_changed(self):
        """[(timestamp µs, {property: value})] of org.phppool.Pool1's PropertiesChanged."""
        out = []
        for m in list(self.messages):
            if m.get('type') == 'signal' and m.get('member') == 'PropertiesChanged' \
                    and m.get('path') == OBJECT:
                iface, changed, _invalidated = m['payload']['data']
                if iface == IFACE:
                    out.append((m.get('timestamp-realtime', 0),
                                {k: v['data'] for k, v in changed.items()}, m.get('sender')))
        return out

    def wait_accepted(self, value, timeout):
        """Waits for a PropertiesChanged that announces AcceptedConnections = VALUE."""
        harness.wait_until(
            lambda: any(c.get('AcceptedConnections') == value
                        for _, c, _ in self.properties_changed()),
            timeout, what='PropertiesChanged with AcceptedConnections=%d' % value)


def fcgi_get(sock, script, query=''):
    out, _err, _ = harness.fcgi_request(sock, harness.php_params(script, query=query), timeout=60)
    status, _headers, body = harness.parse_cgi_response(out)
    return status, body


def woke(pid):
    """Times PID has been scheduled out: how often it woke up."""
    with open('/proc/%d/status' % pid) as f:
        v = dict(line.split(':', 1) for line in f)
    return int(v['voluntary_ctxt_switches']) + int(v['nonvoluntary_ctxt_switches'])


def wait_asleep(pid):
    """Until PID stays scheduled out for 1.2 s: an idle manager that fell asleep."""
    def still():
        before = woke(pid)
        time.sleep(1.2)
        return woke(pid) == before
    harness.wait_until(still, 12, what='the idle manager to fall asleep')


def warnings_about_dbus(log):
    return [line for line in log.splitlines() if 'WARNING' in line and 'D-Bus' in line]


class _PoolOnBus(unittest.TestCase):
    """One private bus and one php-pool (--instance example.com) on it, per class."""

    BUS_EXTRA = ''
    POOL_TEXT = POOL_INI

    @classmethod
    def setUpClass(cls):
        require_dbus_tools()
        cls.tmp = harness.make_tmp('php-pool-dbus-')
        os.chmod(cls.tmp, 0o755)  # nobody connects to the bus socket in it
        cls.daemon = cls.backend = None
        try:
            cls.daemon = DbusDaemon(cls.tmp, os.path.join(cls.tmp, 'bus.sock'), cls.BUS_EXTRA)
            cls.bus = Bus(cls.daemon.address)
            cls.backend = harness.PhpPool(cls.tmp, cls.POOL_TEXT.format(tmp=cls.tmp),
                                          extra_env={'DBUS_SYSTEM_BUS_ADDRESS':
                                                     cls.daemon.address},
                                          ini_args=['--instance', INSTANCE])
            cls.sock = cls.backend.socket_path
            harness.wait_until(cls.bus.owner, 10, what=BUS_NAME + ' on the bus')
            harness.wait_until(lambda: cls.bus.get('State') == 'running', 10, what='running')
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.backend is not None:
                cls.backend.stop()
        finally:
            try:
                if cls.daemon is not None:
                    cls.daemon.stop()
            finally:
                harness.remove_tmp(cls.tmp)

    def write_pool(self, replace=None, append=''):
        """Rewrites the pool file: its original text with `replace` (old → new) applied."""
        text = self.backend.pool_text
        for old, new in (replace or {}).items():
            self.assertIn(old, text)
            text = text.replace(old, new)
        with open(self.backend.conf_path, 'w') as f:
            f.write(text + append)
        return text + append

    def restore_pool(self):
        with open(self.backend.conf_path, 'w') as f:
            f.write(self.backend.pool_text)

    def logs(self):
        return self.backend.log_text()


class PoolBusTest(_PoolOnBus):

    def test_bus_name_is_the_escaped_instance(self):
        r = self.bus.busctl('--json=short', 'call', 'org.freedesktop.DBus',
                            '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                            'GetConnectionUnixProcessID', 's', BUS_NAME)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)['data'][0], self.backend.pid)
        self.assertEqual(self.bus.get('Pool'), INSTANCE)

    def test_introspect(self):
        r = self.bus.busctl('introspect', BUS_NAME, OBJECT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('org.phppool.Pool1', r.stdout)
        r = self.bus.busctl('introspect', '--xml-interface', BUS_NAME, OBJECT)
        self.assertEqual(r.returncode, 0, r.stderr)
        root = ET.fromstring(r.stdout[r.stdout.index('<node'):])
        ifaces = {i.get('name'): i for i in root.findall('interface')}
        for std in ('org.freedesktop.DBus.Properties', 'org.freedesktop.DBus.Introspectable',
                    'org.freedesktop.DBus.Peer'):
            self.assertIn(std, ifaces)
        iface = ifaces[IFACE]
        props = {p.get('name'): (p.get('type'), p.get('access'))
                 for p in iface.findall('property')}
        self.assertEqual(props, {n: (t, 'read') for n, t in PROPERTIES.items()})
        methods = {}
        for m in iface.findall('method'):
            methods[m.get('name')] = [(a.get('direction'), a.get('type'))
                                      for a in m.findall('arg')]
        self.assertEqual(methods, {
            'Reload': [],
            'GetStatus': [('in', 's'), ('out', 's')],
            'ListProcesses': [('out', 'a(usttss)')],
        })
        # counters announce their changes; the pool's name never changes
        for p in iface.findall('property'):
            ann = {a.get('name'): a.get('value') for a in p.findall('annotation')}
            emits = ann.get('org.freedesktop.DBus.Property.EmitsChangedSignal', 'true')
            self.assertEqual(emits, 'const' if p.get('name') == 'Pool' else 'true', p.get('name'))

    def test_properties_at_rest(self):
        before = time.time()
        p = self.bus.get_all()
        self.assertEqual(p['Pool'], INSTANCE)
        self.assertEqual(p['ProcessManager'], 'static')
        self.assertEqual(p['State'], 'running')
        self.assertEqual(p['TotalProcesses'], 3)
        self.assertEqual(p['IdleProcesses'] + p['ActiveProcesses'], 3)
        self.assertEqual(p['ListenQueue'], 0)
        self.assertEqual(p['ListenQueueLength'], 64)  # listen.backlog
        # µs since the epoch, when the pool started (in this class's set-up)
        self.assertLess(p['StartTime'], before * 1e6)
        self.assertGreater(p['StartTime'], (before - 600) * 1e6)
        # the same figures as GetStatus (json) shows
        st = json.loads(self.bus.get_status('json'))
        self.assertEqual(st['pool'], p['Pool'])
        self.assertEqual(st['process manager'], p['ProcessManager'])
        self.assertEqual(st['start time'], p['StartTime'] // 1000000)
        self.assertEqual(st['listen queue len'], p['ListenQueueLength'])
        self.assertEqual(st['total processes'], p['TotalProcesses'])

    def test_properties_and_processes_under_load(self):
        """Three workers asleep in sleep.php, two more connections waiting in the backlog."""
        before = self.bus.get_all()
        results = []

        def sleeper():
            results.append(fcgi_get(self.sock, 'sleep.php', 's=3'))

        threads = [threading.Thread(target=sleeper) for _ in range(3)]
        for t in threads:
            t.start()
        waiting = []
        try:
            harness.wait_until(lambda: self.bus.get('ActiveProcesses') == 3, 5,
                               what='ActiveProcesses == 3')
            for _ in range(2):  # no worker free: these stay in the accept queue
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.sock)
                waiting.append(s)
            p = harness.wait_until(
                lambda: (lambda v: v if v['ListenQueue'] == 2 else None)(self.bus.get_all()),
                5, what='ListenQueue == 2')
            self.assertEqual(p['IdleProcesses'], 0)
            self.assertEqual(p['TotalProcesses'], 3)
            self.assertGreaterEqual(p['MaxActiveProcesses'], 3)
            self.assertGreaterEqual(p['MaxListenQueue'], 2)
            self.assertGreaterEqual(p['AcceptedConnections'], before['AcceptedConnections'] + 3)

            rows = self.bus.list_processes()
            self.assertEqual(len(rows), 3, rows)
            self.assertEqual({r[0] for r in rows}, set(self.backend.worker_pids()))
            for pid, state, requests, duration, method, uri in rows:
                self.assertEqual(state, 'Running')
                self.assertEqual(method, 'GET')
                self.assertEqual(uri, '/sleep.php?s=3')
                self.assertGreater(duration, 0)
                self.assertLess(duration, 10 * 1000000)
                self.assertGreaterEqual(requests, 0)
            if is_root():
                # anyone may read the status, but a query string may carry a token: only for
                # root (or the manager's own user)
                rows = self.bus.busctl_json('call', BUS_NAME, OBJECT, IFACE, 'ListProcesses',
                                            user='nobody')[0]['data'][0]
                self.assertEqual({r[5] for r in rows}, {'/sleep.php'})
                st = json.loads(self.bus.busctl_json('call', BUS_NAME, OBJECT, IFACE, 'GetStatus',
                                                     's', 'json', user='nobody')[0]['data'][0])
                running = [p for p in st['processes'] if p['state'] == 'Running']
                self.assertEqual({p['request uri'] for p in running}, {'/sleep.php'})
                st = json.loads(self.bus.busctl_json('call', BUS_NAME, OBJECT, IFACE, 'GetStatus',
                                                     's', 'json')[0]['data'][0])
                running = [p for p in st['processes'] if p['state'] == 'Running']
                self.assertEqual({p['request uri'] for p in running}, {'/sleep.php?s=3'})
            # a request over request_slowlog_timeout (1 s) counts as slow
            harness.wait_until(lambda: self.bus.get('SlowRequests')
                               >= before['SlowRequests'] + 3, 5, what='SlowRequests')
            # a static pool with every worker busy has reached pm.max_children (counted by the
            # once-a-second process-manager pass)
            harness.wait_until(lambda: self.bus.get('MaxChildrenReached')
                               > before['MaxChildrenReached'], 3, what='MaxChildrenReached')
        finally:
            for s in waiting:
                s.close()
            for t in threads:
                t.join(30)
        self.assertEqual([r[0] for r in results], [200] * 3)
        harness.wait_until(lambda: self.bus.get('ActiveProcesses') == 0, 5,
                           what='ActiveProcesses back to 0')
        rows = self.bus.list_processes()
        for pid, state, requests, duration, method, uri in rows:
            self.assertEqual(state, 'Idle')
            self.assertEqual(duration, 0)  # no request running
        self.assertGreaterEqual(sum(r[2] for r in rows), 3)

    def test_get_status_formats(self):
        pids = set(self.backend.worker_pids())
        # plain: php-fpm's "key: value" lines, with the per-process blocks (full)
        plain = self.bus.get_status('plain')
        head = dict(re.findall(r'^([a-z ]+):\s+(.*)$', plain.split('\n\n')[0], re.M))
        self.assertEqual(head['pool'], INSTANCE)
        self.assertEqual(head['process manager'], 'static')
        self.assertEqual(head['total processes'], '3')
        self.assertEqual({int(p) for p in re.findall(r'^pid:\s+(\d+)$', plain, re.M)}, pids)
        # json
        st = json.loads(self.bus.get_status('json'))
        self.assertEqual(st['pool'], INSTANCE)
        self.assertEqual({p['pid'] for p in st['processes']}, pids)
        for p in st['processes']:
            self.assertIn(p['state'], FPM_STATES)
        # xml
        root = ET.fromstring(self.bus.get_status('xml'))
        self.assertEqual(root.tag, 'status')
        self.assertEqual(root.findtext('pool'), INSTANCE)
        self.assertEqual(root.findtext('total-processes'), '3')
        self.assertEqual({int(p.findtext('pid')) for p in root.iter('process')}, pids)
        # openmetrics: sample lines, "# EOF" last, per-process samples labelled by pid
        om = self.bus.get_status('openmetrics')
        lines = om.rstrip('\n').split('\n')
        self.assertEqual(lines[-1], '# EOF')
        samples = [line for line in lines if not line.startswith('#')]
        for line in samples:
            self.assertRegex(line, r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? \S+$')
        self.assertIn('phpfpm_total_processes 3', samples)
        self.assertEqual({int(p) for p in re.findall(r'pid="(\d+)"', om)}, pids)
        # the empty format is plain's; unknown ones are refused with InvalidArgs
        self.assertEqual(self.bus.get_status('').split('\n')[0], plain.split('\n')[0])
        for bad in ('html', 'yaml'):
            rc, out = self.bus.dbus_send('GetStatus', 'string:' + bad)
            self.assertNotEqual(rc, 0)
            self.assertIn('org.freedesktop.DBus.Error.InvalidArgs', out)

    def test_list_processes_at_rest(self):
        rows = self.bus.list_processes()
        self.assertEqual({r[0] for r in rows}, set(self.backend.worker_pids()))
        for pid, state, requests, duration, method, uri in rows:
            self.assertIn(state, FPM_STATES)
            self.assertEqual(duration, 0)

    def test_properties_changed_coalesced(self):
        mon = Monitor(self.bus)
        try:
            owner = self.bus.owner()
            n = 40
            t0 = time.monotonic()
            for _ in range(n):
                self.assertEqual(fcgi_get(self.sock, 'pid.php')[0], 200)
            elapsed = time.monotonic() - t0
            final = self.bus.get('AcceptedConnections')
            mon.wait_accepted(final, 5)
        finally:
            mon.stop()
        signals = mon.properties_changed()
        with_accepted = [c for _, c, _ in signals if 'AcceptedConnections' in c]
        # at most one signal per emit interval (0.25 s), never one per request
        self.assertLess(len(with_accepted), n)
        self.assertLessEqual(len(with_accepted), int(elapsed / 0.25) + 3, signals)
        values = [c['AcceptedConnections'] for c in with_accepted]
        self.assertEqual(values, sorted(values))
        for _, changed, sender in signals:
            self.assertEqual(sender, owner)
            self.assertNotIn('Pool', changed)
            for name, value in changed.items():
                self.assertIn(name, PROPERTIES)

    def test_readers_need_no_privileges(self):
        if not is_root():
            self.skipTest('needs root (runuser)')
        self.assertEqual(self.bus.get('Pool', user='nobody'), INSTANCE)
        self.assertEqual(self.bus.get('TotalProcesses', user='nobody'), 3)
        r = self.bus.busctl('introspect', BUS_NAME, OBJECT, user='nobody')
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = self.bus.busctl_json('call', BUS_NAME, OBJECT, IFACE, 'ListProcesses',
                                    user='nobody')
        self.assertEqual(len(rows[0]['data'][0]), 3)
        rows = self.bus.busctl_json('call', BUS_NAME, OBJECT, IFACE, 'GetStatus', 's', 'json',
                                    user='nobody')
        self.assertEqual(json.loads(rows[0]['data'][0])['pool'], INSTANCE)
        r = self.bus.client('--status', INSTANCE, '--format', 'json', user='nobody')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)['pool'], INSTANCE)

    def test_reload_refused_for_nobody(self):
        if not is_root():
            self.skipTest('needs root (runuser)')
        reloads = self.logs().count('Reloading (D-Bus')
        rc, out = self.bus.dbus_send('Reload', user='nobody')
        self.assertNotEqual(rc, 0)
        self.assertIn('org.freedesktop.DBus.Error.AccessDenied', out)
        r = self.bus.busctl('call', BUS_NAME, OBJECT, IFACE, 'Reload', user='nobody')
        self.assertNotEqual(r.returncode, 0)
        r = self.bus.client('--reload', INSTANCE, user='nobody')
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('org.freedesktop.DBus.Error.AccessDenied', r.stderr)
        self.assertEqual(self.logs().count('Reloading (D-Bus'), reloads)
        # nor may anyone but root own the pools' names
        r = self.bus.busctl('call', 'org.freedesktop.DBus', '/org/freedesktop/DBus',
                            'org.freedesktop.DBus', 'RequestName', 'su',
                            'org.phppool.Pool1.intruder', '4', user='nobody')
        self.assertNotEqual(r.returncode, 0)

    def test_reload_changes_pm_without_failed_requests(self):
        self.addCleanup(self._reload_back)
        old_pids = set(self.backend.worker_pids())
        stop = threading.Event()
        counts = {'ok': 0, 'failed': []}

        def loop():
            while not stop.is_set():
                try:
                    status, body = fcgi_get(self.sock, 'pid.php')
                    if status == 200 and body.strip().isdigit():
                        counts['ok'] += 1
                    else:
                        counts['failed'].append((status, body[:200]))
                except Exception as e:  # noqa: BLE001 - any failure counts
                    counts['failed'].append(repr(e))

        threads = [threading.Thread(target=loop) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.3)
            self.write_pool({'pm.max_children = 3': 'pm.max_children = 5'})
            t0 = time.monotonic()
            self.bus.call('Reload', timeout=60)
            took = time.monotonic() - t0
            # the reply comes once new workers accept: the new setting is visible at once
            self.assertEqual(self.bus.get('TotalProcesses'), 5)
            time.sleep(0.5)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(counts['failed'], [])
        self.assertGreater(counts['ok'], 10)
        self.assertLess(took, 30)
        self.assertEqual(self.bus.get('State'), 'running')
        harness.wait_until(lambda: len(self.backend.worker_pids()) == 5, 10,
                           what='5 workers after the reload')
        self.assertFalse(old_pids & set(self.backend.worker_pids()))
        self.assertEqual(len(self.bus.list_processes()), 5)
        self.assertIn('Reloading (D-Bus request from', self.logs())

    def _reload_back(self):
        self.restore_pool()
        r = self.bus.client('--reload', INSTANCE)
        self.assertEqual(r.returncode, 0, r.stderr)
        harness.wait_until(lambda: self.bus.get('TotalProcesses') == 3, 10, what='back to 3')

    def test_reload_with_broken_file_keeps_serving(self):
        self.addCleanup(self.restore_pool)
        text = self.write_pool({'pm.max_children = 3': 'pm.max_children = banana'})
        line = text.split('\n').index('pm.max_children = banana') + 1
        where = '%s:%d' % (self.backend.conf_path, line)
        pids = set(self.backend.worker_pids())

        rc, out = self.bus.dbus_send('Reload')
        self.assertNotEqual(rc, 0)
        self.assertIn('org.phppool.Pool1.Error.ConfigInvalid', out)
        self.assertIn(where, out)
        self.assertIn('banana', out)
        r = self.bus.busctl('call', BUS_NAME, OBJECT, IFACE, 'Reload')
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(where, r.stderr)
        r = self.bus.client('--reload', INSTANCE)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(where, r.stderr)

        # the old configuration keeps serving, with the same workers
        self.assertEqual(fcgi_get(self.sock, 'pid.php')[0], 200)
        p = self.bus.get('State', 'TotalProcesses')
        self.assertEqual(p, {'State': 'running', 'TotalProcesses': 3})
        self.assertEqual(set(self.backend.worker_pids()), pids)

    def test_status_client(self):
        r = self.bus.client('--status', INSTANCE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, re.compile(r'^pool:\s+example\.com$', re.M))
        self.assertIn('process manager:      static', r.stdout)
        for fmt, check in (('json', json.loads), ('xml', ET.fromstring),
                           ('openmetrics', lambda s: self.assertTrue(s.endswith('# EOF\n')))):
            r = self.bus.client('--status', INSTANCE, '--format', fmt)
            self.assertEqual(r.returncode, 0, r.stderr)
            check(r.stdout)
        r = self.bus.client('--status', 'no-such-pool')
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('not running', r.stderr)
        self.assertIn('org.phppool.Pool1.no_2dsuch_2dpool', r.stderr)
        r = self.bus.client('--reload', 'no-such-pool')
        self.assertNotEqual(r.returncode, 0)

    def test_workers_do_not_inherit_the_bus_connection(self):
        """A PHP script must not be able to speak on the bus with the manager's credentials:
        the only sockets a worker shares with the manager are the listening ones and the
        SOCK_SEQPACKET pair on which leaving workers hand kept connections on (the bus is a
        stream socket)."""
        def sockets(pid):
            out = set()
            for fd in os.listdir('/proc/%d/fd' % pid):
                try:
                    target = os.readlink('/proc/%d/fd/%s' % (pid, fd))
                except OSError:
                    continue
                m = re.match(r'socket:\[(\d+)\]', target)
                if m:
                    out.add(int(m.group(1)))
            return out

        listening, seqpacket = set(), set()
        with open('/proc/net/unix') as f:
            next(f)
            for line in f:
                cols = line.split()
                if int(cols[3], 16) & 0x10000:  # __SO_ACCEPTCON
                    listening.add(int(cols[6]))
                if int(cols[4], 16) == socket.SOCK_SEQPACKET:
                    seqpacket.add(int(cols[6]))
        manager = sockets(self.backend.pid)
        workers = self.backend.worker_pids()
        self.assertTrue(workers)
        for pid in workers:
            shared = sockets(pid) & manager
            self.assertEqual(shared - listening - seqpacket, set(),
                             'worker %d shares %r' % (pid, shared))
            self.assertLessEqual(len(shared & seqpacket), 2, shared)
        self.assertTrue(manager - listening, 'the manager has its bus socket')

    def test_zz_name_released_on_stop(self):
        # last: stops this class's pool
        self.assertIsNotNone(self.bus.owner())
        self.backend.stop()
        self.assertEqual(self.backend.proc.returncode, 0)
        self.assertIsNone(self.bus.owner())


class IdleOnBusTest(_PoolOnBus):
    """A pool without request timeouts, idle, on the bus."""

    POOL_TEXT = 'pm = static\npm.max_children = 2\n'

    def test_idle_pool_on_the_bus_lets_its_manager_sleep(self):
        # Once the pool is quiet the manager sleeps, the bus's comparisons with it: no wake-up
        # at all (the once-a-second comparisons alone would be 4 in 4 s).
        manager = self.backend.pid
        wait_asleep(manager)
        before = woke(manager)
        time.sleep(4)
        n = woke(manager) - before
        self.assertEqual(n, 0, 'the idle manager woke %d times in 4 s' % n)
        # and a change is still announced: the request wakes the manager
        mon = Monitor(self.bus)
        try:
            self.assertEqual(fcgi_get(self.sock, 'pid.php')[0], 200)
            final = self.bus.get('AcceptedConnections')
            mon.wait_accepted(final, 3)
        finally:
            mon.stop()


class ManagerChecksCallerTest(_PoolOnBus):
    """A bus whose policy lets everyone send Reload: the manager refuses on its own."""

    BUS_EXTRA = PERMISSIVE_RELOAD

    def test_manager_refuses_unprivileged_reload(self):
        if not is_root():
            self.skipTest('needs root (runuser)')
        rc, out = self.bus.dbus_send('Reload', user='nobody')
        self.assertNotEqual(rc, 0)
        self.assertIn('org.freedesktop.DBus.Error.AccessDenied', out)
        self.assertIn('only root may reload', out)  # the manager's answer, not the bus's
        self.assertNotIn('Reloading (D-Bus', self.logs())
        # root still may
        pids = set(self.backend.worker_pids())
        self.bus.call('Reload', timeout=60)
        harness.wait_until(lambda: not (pids & set(self.backend.worker_pids())), 10,
                           what='new workers')


class NameHandoverTest(_PoolOnBus):
    """A second manager with the same identity (e.g. the new image of a re-executed manager,
    whose predecessor has not left the bus yet) waits for the name instead of giving up."""

    def test_second_owner_takes_the_name_when_the_first_leaves(self):
        tmp2 = os.path.join(self.tmp, 'second')
        os.makedirs(tmp2)
        second = harness.PhpPool(tmp2, 'pm = static\npm.max_children = 1\n',
                                 extra_env={'DBUS_SYSTEM_BUS_ADDRESS': self.bus.address},
                                 ini_args=['--instance', INSTANCE])
        self.addCleanup(second.stop)
        harness.wait_until(lambda: 'takes the name over' in second.log_text(), 10,
                           what='the second manager queued for the name')
        self.assertEqual(self.bus.get('TotalProcesses'), 3)  # still the first pool
        self.backend.stop()
        harness.wait_until(lambda: self.bus.owner() is not None, 10, what='a new owner')
        self.assertEqual(self.bus.get('TotalProcesses'), 1)
        r = self.bus.busctl('--json=short', 'call', 'org.freedesktop.DBus',
                            '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                            'GetConnectionUnixProcessID', 's', BUS_NAME)
        self.assertEqual(json.loads(r.stdout)['data'][0], second.pid)
        self.assertEqual(warnings_about_dbus(second.log_text()), [])


class NoBusTest(unittest.TestCase):
    """No bus at start: one warning, FastCGI serves; the bus comes (back): the name appears."""

    def setUp(self):
        require_dbus_tools()
        self.tmp = harness.make_tmp('php-pool-dbus-nobus-')
        self.socket_path = os.path.join(self.tmp, 'later.sock')
        self.daemons = []
        self.backend = harness.PhpPool(self.tmp, 'pm = static\npm.max_children = 2\n',
                                       extra_env={'DBUS_SYSTEM_BUS_ADDRESS':
                                                  'unix:path=' + self.socket_path},
                                       ini_args=['--instance', INSTANCE])

    def tearDown(self):
        try:
            self.backend.stop()
        finally:
            for d in self.daemons:
                d.stop()
            harness.remove_tmp(self.tmp)

    def start_bus(self):
        d = DbusDaemon(self.tmp, self.socket_path, tag='bus%d' % len(self.daemons))
        self.daemons.append(d)
        return Bus(d.address)

    def test_serves_without_bus_and_connects_when_it_comes(self):
        for _ in range(5):
            self.assertEqual(fcgi_get(self.backend.socket_path, 'pid.php')[0], 200)
        # Past several attempts: the next is more than 10 s away (they back off to once a
        # minute), and the manager sleeps meanwhile.
        time.sleep(17)
        self.assertEqual(fcgi_get(self.backend.socket_path, 'pid.php')[0], 200)
        warnings = warnings_about_dbus(self.backend.log_text())
        self.assertEqual(len(warnings), 1, self.backend.log_text())
        self.assertIn('system bus', warnings[0])

        # The bus socket appearing is what makes it try: at once, not at the next attempt.
        bus = self.start_bus()
        harness.wait_until(bus.owner, 3, what='the pool on the bus that came up')
        self.assertEqual(bus.get('TotalProcesses'), 2)

        # The bus goes away (dbus-daemon restarted) while the idle manager sleeps: it notices
        # at once (one more warning), and is back as soon as the bus is.
        wait_asleep(self.backend.pid)
        self.daemons[-1].stop()
        harness.wait_until(lambda: len(warnings_about_dbus(self.backend.log_text())) == 2, 3,
                           what='a warning about the lost bus')
        bus = self.start_bus()
        harness.wait_until(bus.owner, 3, what='the pool back on the restarted bus')
        self.assertEqual(fcgi_get(self.backend.socket_path, 'pid.php')[0], 200)
        self.assertEqual(bus.get('Pool'), INSTANCE)
        self.assertEqual(len(warnings_about_dbus(self.backend.log_text())), 2,
                         self.backend.log_text())
        self.assertEqual(fcgi_get(self.backend.socket_path, 'pid.php')[0], 200)


if __name__ == '__main__':
    unittest.main(verbosity=2)
