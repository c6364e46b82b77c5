#!/usr/bin/python3
"""php-pool next to Debian's php-fpm 8.2, on the same machine, in alternation.

One command: `python3 bench/bench.py` (or `bash bench/run.sh`, which builds php-pool first).

Both backends get the same pool settings (pm static, 4 children), read identical copies of
Debian's php.ini and conf.d (-c and PHP_INI_SCAN_DIR), get the same php_admin_value lines and
sit behind identical nginx configs (one nginx each, differing only in port and socket path).
wrk drives them in alternation, round after round, so both see the same machine state.

Figures, per script: requests/s, p50/p99 latency, non-2xx and socket errors, backend CPU per
request (utime+stime of the manager and every worker from /proc/PID/stat, before/after);
then PSS after warm-up, time from process start to the first FastCGI response, failed requests
across 10 graceful reloads under load, and nginx's own `return 200` as the ceiling.

Output: a table, one `BENCH ...` line per figure, bench/results.png and bench/RESULTS.md.
Everything runs in a temporary directory on loopback and unix sockets; every process is stopped
by its PID. Not a test: .ci/run does not run it.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WWW = os.path.join(HERE, 'www')
APP = os.path.join(HERE, 'app')
LUA = os.path.join(HERE, 'lua')
FPM_BIN = os.environ.get('PHP_FPM_BIN', '/usr/sbin/php-fpm8.2')
NGINX_BIN = shutil.which('nginx') or '/usr/sbin/nginx'
WRK_BIN = shutil.which('wrk') or '/usr/bin/wrk'
PHP_INI_SRC = '/etc/php/8.2/fpm/php.ini'
PHP_CONFD_SRC = '/etc/php/8.2/fpm/conf.d'
CLK_TCK = os.sysconf('SC_CLK_TCK')
IS_ROOT = os.geteuid() == 0

MAX_CHILDREN = 4

# The same php_admin_value lines for both backends (on top of the identical php.ini copies).
ADMIN_VALUES = {
    'memory_limit': '128M',
    'post_max_size': '64M',
    'upload_max_filesize': '32M',
    'max_execution_time': '30',
    'output_buffering': '4096',
    'expose_php': 'Off',
    'display_errors': 'Off',
    'log_errors': 'On',
    'html_errors': 'Off',
    'date.timezone': 'UTC',
    'cgi.fix_pathinfo': '1',
    'session.gc_probability': '0',
}

# name, URL path, wrk lua script (or None), connections, what the body must contain
SCRIPTS = [
    ('hello', '/hello.php', None, 32, b'Hello, world!'),
    ('page', '/page.php?name=bench&items=12', None, 32, b'Item bench number 12'),
    ('cpu', '/cpu.php', None, 8, b' '),
    ('post', '/post.php', 'post.lua', 32, b'65536 '),
    ('upload', '/upload.php', 'upload.lua', 8, b'1048576 bench'),
    ('sleep', '/sleep.php', None, 16, b'slept'),
    ('app', '/app/', 'app.lua', 32, b'Widget shop'),
]
SCRIPT_NOTES = {
    'hello': 'echo of one line',
    'page': '~2 KB HTML from $_SERVER and $_GET',
    'cpu': 'sort + json_encode of 20k items',
    'post': '64 KB POST body, md5 of php://input',
    'upload': 'multipart upload of 1 MB',
    'sleep': 'usleep(50 ms), 16 connections for 4 workers',
    'app': 'router + templates + sessions (bench/app)',
}

# What the lead asked for: (script set, metric) -> (bound, direction)
TARGETS = {
    ('hello', 'cpu_us'): (0.75, 'le'), ('hello', 'rps'): (1.10, 'ge'), ('hello', 'p99_ms'): (0.90, 'le'),
    ('page', 'cpu_us'): (0.75, 'le'), ('page', 'rps'): (1.10, 'ge'), ('page', 'p99_ms'): (0.90, 'le'),
    ('cpu', 'rps'): (1.00, 'ge'), ('cpu', 'cpu_us'): (1.00, 'le'),
    ('post', 'rps'): (1.00, 'ge'), ('post', 'cpu_us'): (1.00, 'le'),
    ('upload', 'rps'): (1.00, 'ge'), ('upload', 'cpu_us'): (1.00, 'le'),
    ('memory', 'pss_workers_kb'): (0.90, 'le'),
}

# Appended to every wrk run: exact figures in one machine-readable line.
WRK_DONE_LUA = r'''
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d," ..
    "\"mean_us\":%.1f,\"max_us\":%d,\"connect\":%d,\"read\":%d,\"write\":%d," ..
    "\"status\":%d,\"timeout\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
'''


def log(msg):
    sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


# ---------------------------------------------------------------------------------------------
# /proc
# ---------------------------------------------------------------------------------------------

def proc_stat(pid):
    """(ppid, state, utime+stime ticks) or None."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            data = f.read().decode('latin-1')
    except OSError:
        return None
    rest = data[data.rindex(')') + 2:].split()
    return int(rest[1]), rest[0], int(rest[11]) + int(rest[12])


def children_of(ppid):
    out = []
    for name in os.listdir('/proc'):
        if name.isdigit():
            st = proc_stat(int(name))
            if st and st[0] == ppid and st[1] != 'Z':
                out.append(int(name))
    return sorted(out)


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        st = proc_stat(pid)
        if st:
            total += st[2]
    return total


def cpu_ns(pids):
    """utime+stime in ns (/proc/PID/schedstat: the scheduler's exact run time; /proc/PID/stat
    gives the same sum in 10 ms ticks, too coarse for a slow script's few hundred requests)."""
    total = 0
    for pid in pids:
        try:
            with open('/proc/%d/schedstat' % pid) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def pss_kb(pid):
    try:
        with open('/proc/%d/smaps_rollup' % pid) as f:
            for line in f:
                if line.startswith('Pss:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

class Proc:
    """A process we started in its own session; stopped by PID (and its children by PID)."""

    def __init__(self, argv, env=None, cwd=None, log_path=None):
        self.log = open(log_path or os.devnull, 'ab')
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def tree(self):
        return [self.pid] + children_of(self.pid)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        kids = children_of(self.pid) if self.alive() else []
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
        for k in kids:  # orphans (should be none)
            st = proc_stat(k)
            if st and st[1] != 'Z':
                try:
                    os.kill(k, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.log.close()


def php_ini_dir(tmp):
    """Identical copies of Debian's php.ini and conf.d for both backends."""
    d = os.path.join(tmp, 'php-ini')
    confd = os.path.join(d, 'conf.d')
    os.makedirs(confd, exist_ok=True)
    shutil.copyfile(PHP_INI_SRC, os.path.join(d, 'php.ini'))
    for name in sorted(os.listdir(PHP_CONFD_SRC)):
        shutil.copyfile(os.path.join(PHP_CONFD_SRC, name), os.path.join(confd, name))
    return d


class Backend:
    """php-fpm or php-pool with the benchmark's pool, in the foreground."""

    def __init__(self, kind, tmp, ini_dir, pool_bin, name=None, pm='static',
                 process_control_timeout=None, extra_env=None, children=MAX_CHILDREN,
                 wrapper=(), extra_pool=()):
        self.kind = kind
        self.name = name or kind
        self.dir = os.path.join(tmp, self.name)
        os.makedirs(os.path.join(self.dir, 'uploads'), exist_ok=True)
        os.makedirs(os.path.join(self.dir, 'sessions'), exist_ok=True)
        self.socket = os.path.join(self.dir, 'php.sock')
        self.conf = os.path.join(self.dir, 'pool.conf')
        self.log_path = os.path.join(self.dir, 'backend.log')
        glob = []
        if kind == 'fpm':
            glob += ['pid = %s/fpm.pid' % self.dir, 'error_log = %s' % self.log_path,
                     'daemonize = no']
        if process_control_timeout is not None:
            glob.append('process_control_timeout = %s' % process_control_timeout)
        pool = ['[www]', 'listen = %s' % self.socket, 'listen.backlog = 511', 'pm = %s' % pm,
                'pm.max_children = %d' % children]
        if pm == 'ondemand':
            pool.append('pm.process_idle_timeout = 10s')
        pool.append('pm.max_requests = 0')
        pool += list(extra_pool)
        admin = dict(ADMIN_VALUES)
        admin['upload_tmp_dir'] = os.path.join(self.dir, 'uploads')
        admin['session.save_path'] = os.path.join(self.dir, 'sessions')
        admin['sys_temp_dir'] = self.dir
        pool += ['php_admin_value[%s] = %s' % kv for kv in admin.items()]
        text = ''
        if glob:
            text += '[global]\n' + '\n'.join(glob) + '\n\n'
        text += '\n'.join(pool) + '\n'
        with open(self.conf, 'w') as f:
            f.write(text)
        env = {k: v for k, v in os.environ.items()
               if k not in ('LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'NOTIFY_SOCKET',
                            'WATCHDOG_USEC', 'WATCHDOG_PID', 'JOURNAL_STREAM', 'PHPRC')}
        env['PHP_INI_SCAN_DIR'] = os.path.join(ini_dir, 'conf.d')
        # php-pool: never reach the machine's system bus (it warns once and serves on).
        env['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=%s/no-bus' % self.dir
        env.update(extra_env or {})
        ini = os.path.join(ini_dir, 'php.ini')
        if kind == 'fpm':
            argv = [FPM_BIN, '-F', '-R', '-y', self.conf, '-c', ini]
        else:
            argv = [pool_bin, '--config', self.conf, '-R', '-c', ini]
        self.proc = Proc(list(wrapper) + argv, env=env, cwd=self.dir,
                         log_path=self.log_path + '.stdio')
        self.pid = self.proc.pid

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError('%s exited during start-up:\n%s' % (self.name, self.log_text()))
            if fcgi_get(self.socket, os.path.join(WWW, 'hello.php'), timeout=5) is not None:
                return time.monotonic() - self.proc.t_start
            time.sleep(0.002)
        raise RuntimeError('%s did not answer within %ss:\n%s' % (self.name, timeout,
                                                                  self.log_text()))

    def workers(self):
        return children_of(self.pid)

    def wait_workers(self, n=MAX_CHILDREN, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.workers()) >= n:
                return True
            time.sleep(0.05)
        return False

    def log_text(self):
        out = ''
        for p in (self.log_path, self.log_path + '.stdio'):
            try:
                with open(p, 'rb') as f:
                    out += f.read()[-4000:].decode('utf-8', 'replace')
            except OSError:
                pass
        return out

    def stop(self):
        # php-fpm: SIGQUIT is its graceful stop; php-pool: SIGTERM.
        self.proc.stop(signal.SIGQUIT if self.kind == 'fpm' else signal.SIGTERM)


NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
master_process on;
pid {dir}/nginx.pid;
lock_file {dir}/nginx.lock;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    client_body_temp_path {dir}/temp/body;
    proxy_temp_path {dir}/temp/proxy;
    fastcgi_temp_path {dir}/temp/fastcgi;
    uwsgi_temp_path {dir}/temp/uwsgi;
    scgi_temp_path {dir}/temp/scgi;
    default_type text/plain;
    client_max_body_size 64m;
    client_body_buffer_size 2m;
    keepalive_requests 1000000;
    server_tokens off;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        server_name localhost;
        root {www};
        location ~ \\.php$ {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_pass unix:{socket};
        }}
        location /app/ {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME {app}/index.php;
            fastcgi_param SCRIPT_NAME /app/index.php;
            fastcgi_pass unix:{socket};
        }}
        location = /ceiling {{
            return 200 "ok\\n";
        }}
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Nginx:
    def __init__(self, tmp, name, backend_socket):
        self.dir = os.path.join(tmp, 'nginx-' + name)
        os.makedirs(os.path.join(self.dir, 'temp'), exist_ok=True)
        self.port = free_port()
        conf = os.path.join(self.dir, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write(NGINX_CONF.format(user='user root root;\n' if IS_ROOT else '', dir=self.dir,
                                      port=self.port, www=WWW, app=APP, socket=backend_socket))
        self.proc = Proc([NGINX_BIN, '-c', conf, '-p', self.dir + '/', '-e',
                          os.path.join(self.dir, 'nginx-error.log')],
                         log_path=os.path.join(self.dir, 'stdio.log'))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(('127.0.0.1', self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError('nginx did not start (see %s)' % self.dir)

    def url(self, path):
        return 'http://127.0.0.1:%d%s' % (self.port, path)

    def get(self, path, body=None, headers=None):
        import http.client
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=30)
        try:
            c.request('POST' if body is not None else 'GET', path, body=body,
                      headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def stop(self):
        self.proc.stop(signal.SIGQUIT)


# ---------------------------------------------------------------------------------------------
# A minimal FastCGI client (start-up time)
# ---------------------------------------------------------------------------------------------

def _record(rtype, rid, content=b''):
    pad = (8 - len(content) % 8) % 8
    return struct.pack('!BBHHBB', 1, rtype, rid, len(content), pad, 0) + content + b'\0' * pad


def _nv(k, v):
    def ln(n):
        return struct.pack('!B', n) if n < 128 else struct.pack('!I', n | 0x80000000)
    return ln(len(k)) + ln(len(v)) + k + v


def nginx_params(script_filename, uri='/hello.php', query=''):
    """The CGI variables nginx's fastcgi_params (Debian) sends for a GET."""
    script_name = uri.split('?')[0]
    p = [('QUERY_STRING', query), ('REQUEST_METHOD', 'GET'), ('CONTENT_TYPE', ''),
         ('CONTENT_LENGTH', ''), ('SCRIPT_NAME', script_name),
         ('REQUEST_URI', uri + ('?' + query if query else '')), ('DOCUMENT_URI', script_name),
         ('DOCUMENT_ROOT', os.path.dirname(script_filename)), ('SERVER_PROTOCOL', 'HTTP/1.1'),
         ('REQUEST_SCHEME', 'http'), ('GATEWAY_INTERFACE', 'CGI/1.1'),
         ('SERVER_SOFTWARE', 'nginx/1.22.1'), ('REMOTE_ADDR', '127.0.0.1'),
         ('REMOTE_PORT', '54321'), ('SERVER_ADDR', '127.0.0.1'), ('SERVER_PORT', '8080'),
         ('SERVER_NAME', 'localhost'), ('REDIRECT_STATUS', '200'),
         ('SCRIPT_FILENAME', script_filename), ('HTTP_HOST', '127.0.0.1:8080')]
    return {k.encode(): v.encode() for k, v in p}


def fcgi_get(sock_path, script, timeout=5.0, params=None):
    """One GET over FastCGI; the STDOUT bytes, or None if nobody answered."""
    if params is None:
        params = nginx_params(script)
    body = b''.join(_nv(k, v) for k, v in params.items())
    msg = (_record(1, 1, struct.pack('!HB5x', 1, 0)) + _record(4, 1, body) + _record(4, 1)
           + _record(5, 1))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(msg)
        buf = b''
        out = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return None
            buf += chunk
            while len(buf) >= 8:
                _, rtype, _, clen, plen, _ = struct.unpack('!BBHHBB', buf[:8])
                if len(buf) < 8 + clen + plen:
                    break
                content = buf[8:8 + clen]
                buf = buf[8 + clen + plen:]
                if rtype == 6:
                    out += content
                elif rtype == 3:
                    return out
    except OSError:
        return None
    finally:
        s.close()


# ---------------------------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------------------------

def wrk(tmp, url, lua, connections, duration, threads=2, timeout_s=10):
    script = os.path.join(tmp, 'wrk-%s.lua' % (lua or 'plain').replace('.lua', ''))
    if not os.path.exists(script):
        text = ''
        if lua:
            with open(os.path.join(LUA, lua)) as f:
                text = f.read()
        with open(script, 'w') as f:
            f.write(text + '\n' + WRK_DONE_LUA)
    argv = [WRK_BIN, '-t%d' % threads, '-c%d' % connections, '-d%ds' % duration,
            '--timeout', '%ds' % timeout_s, '--latency', '-s', script, url]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    m = re.search(r'^BENCHJSON (\{.*\})$', r.stdout, re.M)
    if not m:
        raise RuntimeError('wrk gave no figures: %s %s' % (r.stdout, r.stderr))
    d = json.loads(m.group(1))
    secs = d['duration_us'] / 1e6
    return {
        'requests': d['requests'],
        'rps': d['requests'] / secs,
        'p50_ms': d['p50_us'] / 1000.0,
        'p99_ms': d['p99_us'] / 1000.0,
        'non2xx': d['status'],
        'sockerr': d['connect'] + d['read'] + d['write'] + d['timeout'],
    }


def measure(tmp, backend, nginx, script, duration):
    name, path, lua, conns, _ = script
    pids = [backend.pid] + backend.workers()
    before, before_ns = cpu_ticks(pids), cpu_ns(pids)
    r = wrk(tmp, nginx.url(path), lua, conns, duration)
    after, after_ns = cpu_ticks(pids), cpu_ns(pids)
    if set(backend.workers()) != set(pids[1:]):
        log('warning: %s changed workers during %s (CPU of the ones gone is lost)'
            % (backend.name, name))
    r['cpu_us_ticks'] = (after - before) * 1e6 / CLK_TCK / max(1, r['requests'])
    r['cpu_us'] = (after_ns - before_ns) / 1e3 / max(1, r['requests'])
    return r


# ---------------------------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------------------------

def sanity(backends, nginxes):
    """Every script answers 200 with the expected body on both; both run PHP alike."""
    infos = {}
    for b in backends:
        n = nginxes[b.kind]
        for name, path, lua, _, expect in SCRIPTS:
            body = headers = None
            if lua == 'post.lua':
                body = b'0123456789abcdef' * 4096
            elif lua == 'upload.lua':
                bnd = 'xyz'
                body = ('--%s\r\nContent-Disposition: form-data; name="title"\r\n\r\nbench\r\n'
                        '--%s\r\nContent-Disposition: form-data; name="file"; filename="d"\r\n'
                        'Content-Type: application/octet-stream\r\n\r\n' % (bnd, bnd)).encode()
                body += b'A' * 1048576 + ('\r\n--%s--\r\n' % bnd).encode()
                headers = {'Content-Type': 'multipart/form-data; boundary=' + bnd}
            status, data = n.get(path, body, headers)
            if status != 200 or expect not in data:
                raise RuntimeError('%s: %s answered %s %r' % (b.name, path, status, data[:300]))
        status, data = n.get('/info.php')
        if status != 200:
            raise RuntimeError('%s: /info.php answered %s' % (b.name, status))
        infos[b.kind] = json.loads(data)
    a, p = infos['fpm'], infos['pool']
    diff = {k: (a.get(k), p.get(k)) for k in set(a) | set(p) if k != 'sapi' and a.get(k) != p.get(k)}
    if diff:
        log('warning: the backends run PHP differently: %s' % diff)
    log('both backends: %s' % json.dumps(p))
    return infos


def load_phase(tmp, backends, nginxes, scripts, rounds, duration, warmup):
    results = {s[0]: {'fpm': [], 'pool': []} for s in scripts}
    results['ceiling'] = {'nginx': []}
    for s in scripts:
        for b in backends:
            wrk(tmp, nginxes[b.kind].url(s[1]), s[2], s[3], warmup)
    for rnd in range(rounds):
        order = backends if rnd % 2 == 0 else backends[::-1]
        for s in scripts:
            for b in order:
                r = measure(tmp, b, nginxes[b.kind], s, duration)
                results[s[0]][b.kind].append(r)
                log('round %d %-7s %-5s %8.0f req/s  p50 %7.2f ms  p99 %7.2f ms  cpu %7.1f us/req'
                    '  err %d/%d' % (rnd + 1, s[0], b.kind, r['rps'], r['p50_ms'], r['p99_ms'],
                                     r['cpu_us'], r['non2xx'], r['sockerr']))
        r = wrk(tmp, nginxes['fpm'].url('/ceiling'), None, 32, duration)
        results['ceiling']['nginx'].append(r)
        log('round %d ceiling nginx %8.0f req/s' % (rnd + 1, r['rps']))
    return results


def memory_phase(backends):
    out = {}
    for b in backends:
        workers = b.workers()
        w = [pss_kb(p) for p in workers]
        out[b.kind] = {'pss_manager_kb': pss_kb(b.pid), 'pss_worker_avg_kb': sum(w) / max(1, len(w)),
                       'pss_workers_kb': sum(w), 'pss_total_kb': pss_kb(b.pid) + sum(w),
                       'workers': len(w)}
        log('%s PSS: manager %d kB, workers %s kB' % (b.name, out[b.kind]['pss_manager_kb'], w))
    return out


def startup_phase(tmp, ini_dir, pool_bin, tries):
    res = {'fpm': [], 'pool': []}
    for i in range(tries):
        for kind in (('fpm', 'pool') if i % 2 == 0 else ('pool', 'fpm')):
            b = Backend(kind, tmp, ini_dir, pool_bin, name='start-%s-%d' % (kind, i))
            try:
                t = b.wait_ready()
                res[kind].append(t * 1000)
                log('start-up %s: first response after %.1f ms' % (kind, t * 1000))
            finally:
                b.stop()
    return res


def ondemand_phase(tmp, ini_dir, pool_bin, tries):
    """pm = ondemand: latency of the first request (a worker is forked for it)."""
    res = {'fpm': [], 'pool': []}
    for i in range(tries):
        for kind in (('fpm', 'pool') if i % 2 == 0 else ('pool', 'fpm')):
            b = Backend(kind, tmp, ini_dir, pool_bin, name='ondemand-%s-%d' % (kind, i),
                        pm='ondemand')
            try:
                deadline = time.monotonic() + 20
                while not os.path.exists(b.socket) and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(0.5)  # listening, no worker yet
                t0 = time.monotonic()
                out = fcgi_get(b.socket, os.path.join(WWW, 'hello.php'), timeout=10)
                t = (time.monotonic() - t0) * 1000
                if out is None:
                    raise RuntimeError('%s ondemand: no answer\n%s' % (kind, b.log_text()))
                res[kind].append(t)
                log('ondemand %s: first request %.2f ms' % (kind, t))
            finally:
                b.stop()
    return res


def socket_phase(tmp, ini_dir, pool_bin, tries):
    """php-pool started by systemd-socket-activate on the first connection: that connection's
    wait for its response (php-fpm 8.2 cannot be socket-activated)."""
    tool = shutil.which('systemd-socket-activate')
    if not tool:
        log('systemd-socket-activate not installed: no socket-activation figure')
        return None
    res = []
    for i in range(tries):
        path = os.path.join(tmp, 'activated-%d.sock' % i)
        b = Backend('pool', tmp, ini_dir, pool_bin, name='activated-%d' % i,
                    wrapper=[tool, '-l', path])
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(path) and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(0.2)
            t0 = time.monotonic()
            out = fcgi_get(path, os.path.join(WWW, 'hello.php'), timeout=20)
            t = (time.monotonic() - t0) * 1000
            if out is None or b'Hello' not in out:
                raise RuntimeError('socket-activated php-pool did not answer:\n' + b.log_text())
            res.append(t)
            log('socket-activated pool: first response after %.1f ms' % t)
        finally:
            b.stop()
    return res


def reload_phase(tmp, ini_dir, pool_bin, reloads, interval):
    """Failed requests across `reloads` graceful reloads under load."""
    cases = [('fpm_pct0', 'fpm', '0', signal.SIGUSR2), ('fpm_pct10s', 'fpm', '10s', signal.SIGUSR2),
             ('pool', 'pool', None, signal.SIGHUP)]
    out = {}
    for case, kind, pct, sig in cases:
        b = Backend(kind, tmp, ini_dir, pool_bin, name='reload-' + case,
                    process_control_timeout=pct)
        n = Nginx(tmp, 'reload-' + case, b.socket)
        try:
            b.wait_ready()
            b.wait_workers()
            duration = int(reloads * interval + 3)
            holder = {}
            t = threading.Thread(target=lambda: holder.update(
                wrk(tmp, n.url('/sleep.php?ms=20'), None, 16, duration)))
            t.start()
            time.sleep(1.5)
            for _ in range(reloads):
                os.kill(b.pid, sig)
                time.sleep(interval)
            t.join()
            r = holder
            alive = b.proc.alive() and fcgi_get(b.socket, os.path.join(WWW, 'hello.php')) is not None
            out[case] = {'failed': r['non2xx'] + r['sockerr'], 'requests': r['requests'],
                         'non2xx': r['non2xx'], 'sockerr': r['sockerr'], 'alive': alive}
            log('reload %s: %d failed of %d (%d non-2xx, %d socket errors), serving after: %s'
                % (case, out[case]['failed'], r['requests'], r['non2xx'], r['sockerr'], alive))
        finally:
            n.stop()
            b.stop()
    return out


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def med(xs):
    return statistics.median(xs) if xs else float('nan')


def ratio(a, b):
    if b == 0:
        return float('nan') if a else 1.0
    return a / b


def fmt(v, metric):
    if v != v:
        return 'n/a'
    if metric in ('rps',):
        return '%.0f' % v
    if metric in ('non2xx', 'sockerr', 'failed'):
        return '%d' % v
    if metric.endswith('_kb'):
        return '%.0f' % v
    if metric.endswith('_ms') or metric.startswith('cpu_us'):
        return '%.3g' % v if v < 10 else '%.1f' % v
    return '%.3g' % v


LOAD_METRICS = [('rps', 'req/s'), ('p50_ms', 'p50 ms'), ('p99_ms', 'p99 ms'),
                ('cpu_us', 'CPU µs/req'), ('cpu_us_ticks', 'CPU µs/req (stat ticks)'),
                ('non2xx', 'non-2xx'), ('sockerr', 'socket errors')]


def summarize(load, memory, startup, ondemand, reload, reloads=10, activated=None):
    """Rows: (group, metric, label, fpm median, pool median, ratio median, ratio min, ratio max)."""
    rows = []
    for script in [s[0] for s in SCRIPTS if s[0] in load]:
        f, p = load[script]['fpm'], load[script]['pool']
        for metric, label in LOAD_METRICS:
            fv = [x[metric] for x in f]
            pv = [x[metric] for x in p]
            if metric in ('non2xx', 'sockerr'):
                rows.append((script, metric, label, sum(fv), sum(pv), float('nan'), None, None))
                continue
            rs = [ratio(b, a) for a, b in zip(fv, pv)]
            rows.append((script, metric, label, med(fv), med(pv), med(rs), min(rs), max(rs)))
    if load.get('ceiling', {}).get('nginx'):
        c = [x['rps'] for x in load['ceiling']['nginx']]
        rows.append(('ceiling', 'rps', 'nginx return 200 req/s', med(c), float('nan'),
                     float('nan'), min(c), max(c)))
    if memory:
        for metric, label in [('pss_manager_kb', 'PSS manager kB'),
                              ('pss_worker_avg_kb', 'PSS per worker kB'),
                              ('pss_workers_kb', 'PSS all workers kB'),
                              ('pss_total_kb', 'PSS manager + workers kB')]:
            a, b = memory['fpm'][metric], memory['pool'][metric]
            rows.append(('memory', metric, label, a, b, ratio(b, a), None, None))
    if startup:
        rs = [ratio(b, a) for a, b in zip(startup['fpm'], startup['pool'])]
        rows.append(('startup', 'first_response_ms', 'start to first response ms',
                     med(startup['fpm']), med(startup['pool']), med(rs), min(rs), max(rs)))
    if activated and startup:
        rows.append(('startup', 'socket_activated_ms',
                     'socket-activated 1st response ms (fpm: plain)',
                     med(startup['fpm']), med(activated), ratio(med(activated), med(startup['fpm'])),
                     None, None))
    if ondemand:
        rs = [ratio(b, a) for a, b in zip(ondemand['fpm'], ondemand['pool'])]
        rows.append(('ondemand', 'first_request_ms', 'ondemand first request ms',
                     med(ondemand['fpm']), med(ondemand['pool']), med(rs), min(rs), max(rs)))
    if reload:
        for case in ('fpm_pct0', 'fpm_pct10s'):
            if case in reload and 'pool' in reload:
                label = 'failed requests, %d reloads (fpm pct=%s)' % (
                    reloads, '0' if case == 'fpm_pct0' else '10s')
                rows.append(('reload', 'failed_' + case, label, reload[case]['failed'],
                             reload['pool']['failed'], float('nan'), None, None))
    return rows


def target_note(group, metric, r):
    t = TARGETS.get((group, metric))
    if not t or r != r:
        return ''
    bound, d = t
    ok = r <= bound if d == 'le' else r >= bound
    return '%s %s %.2f' % ('met' if ok else 'MISSED', '≤' if d == 'le' else '≥', bound)


def render_table(rows):
    lines = []
    hdr = '%-9s %-44s %12s %12s %8s %15s  %s' % ('script', 'figure', 'php-fpm', 'php-pool',
                                                  'ratio', 'ratio min–max', 'target')
    lines.append(hdr)
    lines.append('-' * len(hdr))
    for g, m, label, a, b, r, lo, hi in rows:
        spread = ''
        if lo is not None and hi is not None:
            spread = '%.2f–%.2f' % (lo, hi) if g != 'ceiling' else '%.0f–%.0f' % (lo, hi)
        rs = '%.2f' % r if r == r else ''
        lines.append('%-9s %-44s %12s %12s %8s %15s  %s' % (
            g, label, fmt(a, m), fmt(b, m) if b == b else '', rs, spread, target_note(g, m, r)))
    return '\n'.join(lines)


def bench_lines(rows):
    out = []
    for g, m, _, a, b, r, lo, hi in rows:
        s = 'BENCH script=%s metric=%s fpm=%s pool=%s ratio=%s' % (
            g, m, fmt(a, m), fmt(b, m) if b == b else 'n/a', '%.3f' % r if r == r else 'n/a')
        if lo is not None:
            s += ' min=%.3f max=%.3f' % (lo, hi)
        out.append(s)
    return out


def rows_from_bench_lines(path):
    """summarize()'s rows (enough of them for plot()) from saved BENCH lines."""
    rows = []
    with open(path) as f:
        for line in f:
            m = re.match(r'^BENCH (.*)$', line.strip())
            if not m:
                continue
            kv = dict(x.split('=', 1) for x in m.group(1).split())

            def num(k):
                try:
                    return float(kv[k])
                except (KeyError, ValueError):
                    return float('nan')
            lo = num('min') if 'min' in kv else None
            hi = num('max') if 'max' in kv else None
            rows.append((kv['script'], kv['metric'], kv['metric'], num('fpm'), num('pool'),
                         num('ratio'), lo, hi))
    return rows


def plot(rows, path):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        log('matplotlib not importable (python3-matplotlib is Debian\'s: run /usr/bin/python3): no plot')
        return False
    scripts = [s[0] for s in SCRIPTS]
    by = {(g, m): (r, lo, hi) for g, m, _, a, b, r, lo, hi in rows}
    metrics = [('rps', 'req/s'), ('p99_ms', 'p99 latency'), ('cpu_us', 'CPU per request')]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={'width_ratios': [3, 1]})
    ax = axes[0]
    width = 0.26
    xs = [s for s in scripts if (s, 'rps') in by]
    for i, (m, label) in enumerate(metrics):
        vals, errs_lo, errs_hi = [], [], []
        for s in xs:
            r, lo, hi = by.get((s, m), (float('nan'), None, None))
            vals.append(r)
            errs_lo.append(r - lo if lo is not None else 0)
            errs_hi.append(hi - r if hi is not None else 0)
        pos = [j + (i - 1) * width for j in range(len(xs))]
        ax.errorbar(pos, vals, yerr=[errs_lo, errs_hi], fmt='o', markersize=7, capsize=4,
                    label=label)
    ax.axhline(1.0, color='black', linewidth=0.8)
    ax.set_yscale('log', base=2)
    ax.grid(axis='y', alpha=0.3)
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels(xs)
    ax.set_ylabel('php-pool / php-fpm, log scale (median over rounds, bars: min–max)')
    ax.set_title('Load figures')
    ax.legend(loc='upper right')
    ax2 = axes[1]
    other = [('memory', 'pss_workers_kb', 'PSS workers'), ('memory', 'pss_total_kb', 'PSS total'),
             ('startup', 'first_response_ms', 'start-up'),
             ('ondemand', 'first_request_ms', 'ondemand 1st')]
    labels, vals = [], []
    for g, m, label in other:
        if (g, m) in by:
            labels.append(label)
            vals.append(by[(g, m)][0])
    ax2.plot(range(len(vals)), vals, 'o', color='tab:gray', markersize=8)
    ax2.axhline(1.0, color='black', linewidth=0.8)
    ax2.set_yscale('log', base=2)
    ax2.set_xlim(-0.5, len(vals) - 0.5)
    ax2.set_ylim(0.25, 4)
    ax2.set_xticks(range(len(vals)))
    ax2.set_xticklabels(labels, rotation=30, ha='right')
    ax2.set_title('Memory and start-up (medians)')
    ax2.grid(axis='y', alpha=0.3)
    from matplotlib.ticker import FuncFormatter
    for a in (ax, ax2):
        a.yaxis.set_major_formatter(FuncFormatter(lambda v, _: '%g' % v))
    fig.suptitle('php-pool / php-fpm 8.2 (below 1 is better for latency, CPU, memory; above 1 '
                 'for req/s)')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def machine_info(pool_bin):
    def first(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return 'n/a'
    model = 'n/a'
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    mem = 'n/a'
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemTotal'):
                mem = '%.1f GiB' % (int(line.split()[1]) / 1048576)
    try:
        commit = subprocess.run(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD'],
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(['git', '-C', REPO, 'status', '--porcelain', '--', 'src'],
                               capture_output=True, text=True).stdout.strip()
        if dirty:
            commit += ' (src/ had uncommitted changes when the binary was built)'
    except OSError:
        commit = 'n/a'
    return {
        'nproc': os.cpu_count(), 'cpu': model, 'kernel': platform.release(), 'memory': mem,
        'php-fpm': first([FPM_BIN, '-v']), 'php-pool': first([pool_bin, '--version']),
        'nginx': first([NGINX_BIN, '-v']), 'wrk': first([WRK_BIN, '-v']), 'commit': commit,
        'loadavg': open('/proc/loadavg').read().split()[:3],
    }


NOTES_MARKER = '<!-- notes: kept when bench.py rewrites this file -->'


def write_results_md(path, rows, info, args, table, lines, have_plot):
    md = ['# php-pool vs php-fpm 8.2: benchmark results', '',
          'Produced by `python3 bench/bench.py` (see bench/README.md). php-pool / php-fpm ratios '
          'are medians of the per-round ratios; the spread is min–max over the rounds.', '',
          '## Machine', '']
    for k in ('nproc', 'cpu', 'memory', 'kernel', 'php-fpm', 'php-pool', 'nginx', 'wrk', 'commit'):
        md.append('- %s: %s' % (k, info[k]))
    md.append('- load average at start: %s' % ' '.join(info['loadavg']))
    md += ['', '## Settings', '',
           '- both backends: pm = static, pm.max_children = %d, identical copies of %s and %s '
           '(-c and PHP_INI_SCAN_DIR), the same php_admin_value lines, unix sockets' % (
               MAX_CHILDREN, PHP_INI_SRC, PHP_CONFD_SRC),
           '- each behind its own nginx (1 worker, identical config but port and socket, '
           'fastcgi_keep_conn off)',
           '- wrk -t2, %d s per measurement, %d rounds in alternation (the order flips every '
           'round), %d s warm-up per script and backend' % (args.duration, args.rounds,
                                                            args.warmup),
           '- backend CPU per request: utime+stime of the manager and all workers over the run, '
           'divided by the requests; "CPU µs/req" from /proc/PID/schedstat (the same sum, in ns), '
           '"(stat ticks)" from /proc/PID/stat utime+stime (10 ms ticks: coarse for the slow '
           'scripts)',
           '- PSS (/proc/PID/smaps_rollup) after all load rounds; reloads under load: wrk '
           '`/sleep.php?ms=20` with 16 connections, one signal every %.1f s' % args.reload_interval,
           '',
           '| script | connections | what |', '|---|---|---|']
    for name, url, lua, conns, _ in SCRIPTS:
        md.append('| %s | %d | %s (`%s`%s) |' % (name, conns, SCRIPT_NOTES[name], url,
                                                 ', ' + lua if lua else ''))
    md += ['', '## Results', '']
    md.append('| script | figure | php-fpm | php-pool | ratio (median) | ratio min–max | '
              'target |')
    md.append('|---|---|---|---|---|---|---|')
    for g, m, label, a, b, r, lo, hi in rows:
        spread = ''
        if lo is not None:
            spread = '%.2f–%.2f' % (lo, hi) if g != 'ceiling' else '%.0f–%.0f' % (lo, hi)
        md.append('| %s | %s | %s | %s | %s | %s | %s |' % (
            g, label, fmt(a, m), fmt(b, m) if b == b else '', '%.2f' % r if r == r else '',
            spread, target_note(g, m, r)))
    if have_plot:
        md += ['', '![ratios](results.png)']
    md += ['', '## Machine-readable', '', '```'] + lines + ['```', '']
    # A hand-written part below the marker survives the next run.
    try:
        with open(path) as f:
            old = f.read()
        if NOTES_MARKER in old:
            md += [old[old.index(NOTES_MARKER):].rstrip('\n'), '']
    except OSError:
        pass
    with open(path, 'w') as f:
        f.write('\n'.join(md))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--pool-bin', default=os.environ.get('PHP_POOL_BIN'),
                    help='php-pool binary (default: $PHP_POOL_BIN, then build*/src/php-pool)')
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--duration', type=int, default=5, help='seconds per measurement')
    ap.add_argument('--warmup', type=int, default=2, help='seconds of warm-up per script')
    ap.add_argument('--scripts', default=','.join(s[0] for s in SCRIPTS),
                    help='comma-separated subset of: ' + ', '.join(s[0] for s in SCRIPTS))
    ap.add_argument('--reloads', type=int, default=10)
    ap.add_argument('--reload-interval', type=float, default=1.0)
    ap.add_argument('--startup-tries', type=int, default=5)
    ap.add_argument('--skip', default='', help='comma-separated phases to skip: '
                    'load,memory,startup,socket,ondemand,reload')
    ap.add_argument('--quick', action='store_true',
                    help='a development run: 1 round of 3 s, no reload/startup/ondemand phases')
    ap.add_argument('--no-write', action='store_true',
                    help='print only; do not write bench/RESULTS.md and bench/results.png')
    ap.add_argument('--keep-tmp', action='store_true')
    ap.add_argument('--replot', metavar='FILE',
                    help='only redraw bench/results.png from the BENCH lines saved in FILE')
    args = ap.parse_args()
    if args.replot:
        rows = rows_from_bench_lines(args.replot)
        plot(rows, os.path.join(HERE, 'results.png'))
        return
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 3, 1
        args.skip = args.skip + ',startup,socket,ondemand,reload'
        args.no_write = True
    skip = set(x for x in args.skip.split(',') if x)
    if not args.pool_bin:
        for cand in ('/tmp/build-bench/src/php-pool', os.path.join(REPO, 'build/src/php-pool')):
            if os.access(cand, os.X_OK):
                args.pool_bin = cand
                break
    if not args.pool_bin or not os.access(args.pool_bin, os.X_OK):
        sys.exit('php-pool binary not found: --pool-bin or PHP_POOL_BIN')
    for tool in (FPM_BIN, NGINX_BIN, WRK_BIN):
        if not os.access(tool, os.X_OK):
            sys.exit('not installed: %s (bash scripts/install-deps.sh)' % tool)
    wanted = args.scripts.split(',')
    scripts = [s for s in SCRIPTS if s[0] in wanted]

    info = machine_info(args.pool_bin)
    log('machine: %d CPUs, %s, kernel %s; php-pool %s' % (info['nproc'], info['cpu'],
                                                          info['kernel'], args.pool_bin))
    tmp = tempfile.mkdtemp(prefix='php-pool-bench-')
    ini_dir = php_ini_dir(tmp)
    load = memory = startup = ondemand = reload = activated = None
    started = []
    try:
        if 'load' not in skip or 'memory' not in skip:
            fpm = Backend('fpm', tmp, ini_dir, args.pool_bin)
            started.append(fpm)
            pool = Backend('pool', tmp, ini_dir, args.pool_bin)
            started.append(pool)
            backends = [fpm, pool]
            for b in backends:
                b.wait_ready()
                if not b.wait_workers():
                    raise RuntimeError('%s: fewer than %d workers' % (b.name, MAX_CHILDREN))
            nginxes = {'fpm': Nginx(tmp, 'fpm', fpm.socket), 'pool': Nginx(tmp, 'pool', pool.socket)}
            started += nginxes.values()
            sanity(backends, nginxes)
            if 'load' not in skip:
                load = load_phase(tmp, backends, nginxes, scripts, args.rounds, args.duration,
                                  args.warmup)
            if 'memory' not in skip:
                memory = memory_phase(backends)
            for p in reversed(started):
                p.stop()
            started = []
        if 'startup' not in skip:
            startup = startup_phase(tmp, ini_dir, args.pool_bin, args.startup_tries)
        if 'socket' not in skip:
            activated = socket_phase(tmp, ini_dir, args.pool_bin, args.startup_tries)
        if 'ondemand' not in skip:
            ondemand = ondemand_phase(tmp, ini_dir, args.pool_bin, args.startup_tries)
        if 'reload' not in skip:
            reload = reload_phase(tmp, ini_dir, args.pool_bin, args.reloads,
                                  args.reload_interval)
    finally:
        for p in reversed(started):
            p.stop()
        if args.keep_tmp:
            log('kept %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    rows = summarize(load or {}, memory, startup, ondemand, reload, args.reloads, activated)
    table = render_table(rows)
    lines = bench_lines(rows)
    print(table)
    print()
    print('\n'.join(lines))
    if not args.no_write:
        have_plot = plot(rows, os.path.join(HERE, 'results.png'))
        write_results_md(os.path.join(HERE, 'RESULTS.md'), rows, info, args, table, lines,
                         have_plot)
        log('wrote bench/RESULTS.md%s' % (' and bench/results.png' if have_plot else ''))


if __name__ == '__main__':
    main()
