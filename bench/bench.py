#!/usr/bin/python3
"""php-pool next to Debian's php-fpm 8.2 (and uWSGI's PHP plugin), on the same machine, in alternation.

One command: `python3 bench/bench.py` (or `bash bench/run.sh`, which builds php-pool first).

Both backends get the same pool settings (pm static, 4 children), read identical copies of
Debian's php.ini and conf.d (-c and PHP_INI_SCAN_DIR), get the same php_admin_value lines and
sit behind identical nginx configs (one nginx each, differing only in port and socket path).
wrk drives them in alternation, round after round, so both see the same machine state.

uWSGI (Debian's uwsgi-core + uwsgi-plugin-php) is the second peer, when installed: 4 processes,
the same php.ini copies and admin values, its own nginx with the PATH_INFO its plugin needs.

Figures, per script: requests/s, p50/p99 latency, non-2xx and socket errors, backend CPU per
request (utime+stime of the manager and every worker from /proc/PID/stat, before/after);
then PSS after warm-up (1.5 s, and idle past php-pool's release delay), single requests 2 s apart
(a quiet site), a keep-conn phase (nginx upstream keepalive, more connections than
workers), time from process start to the first FastCGI response, socket-activated cold start
(php-fpm: FPM_SOCKETS, php-pool: LISTEN_FDS), failed requests across 10 graceful reloads under
load, and nginx's own `return 200` as the ceiling.

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
PHP_CLI_BIN = os.environ.get('PHP_CLI_BIN', '/usr/bin/php8.2')  # the cold-start floor
NGINX_BIN = shutil.which('nginx') or '/usr/sbin/nginx'
WRK_BIN = shutil.which('wrk') or '/usr/bin/wrk'
UWSGI_BIN = os.environ.get('UWSGI_BIN') or shutil.which('uwsgi') or '/usr/bin/uwsgi'
UWSGI_PLUGINS = '/usr/lib/uwsgi/plugins'  # Debian's uwsgi-plugin-php: php_plugin.so
UWSGI_EXTRA = []  # more uwsgi.ini lines (--uwsgi-opt), e.g. 'thunder-lock = true'
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

# The keep-conn runs: the same figures plus how many of wrk's connections got at least one
# response (nginx there adds `X-Conn: $connection`, its client connection's serial number).
# A connection whose request waits in the backend's backlog for the whole run completes no
# request, so it is absent from wrk's latencies and, in wrk 4.1, from its timeouts too.
WRK_KEEPCONN_LUA = r'''
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end
init = function(args)
  seen = {}
  served = 0
end
response = function(status, headers, body)
  local c = headers["X-Conn"]
  if c and not seen[c] then
    seen[c] = true
    served = served + 1
  end
end
done = function(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("served") end
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d," ..
    "\"mean_us\":%.1f,\"max_us\":%d,\"connect\":%d,\"read\":%d,\"write\":%d," ..
    "\"status\":%d,\"timeout\":%d,\"served_conns\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout, n))
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


def descendants_of(ppid):
    """Children, grandchildren, ...: every process a backend runs counts with it."""
    out = []
    todo = children_of(ppid)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children_of(pid))
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

class _Forked:
    """fork + execve with `listen_fd` as fd 3 and LISTEN_PID set to the child's own PID, the way
    systemd starts a socket-activated service (subprocess cannot put an fd at 3 or know the
    PID before the exec). Offers the part of Popen's interface that Proc uses."""

    def __init__(self, argv, env, cwd, log_fd, listen_fd):
        env = dict(env or os.environ)
        pid = os.fork()
        if pid == 0:  # the child: only async-signal-safe-ish calls, then exec or _exit
            try:
                os.setsid()
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(log_fd, 1)
                os.dup2(log_fd, 2)
                if listen_fd != 3:
                    os.dup2(listen_fd, 3)  # dup2 clears FD_CLOEXEC on the copy
                os.set_inheritable(3, True)
                os.closerange(4, 4096)
                if cwd:
                    os.chdir(cwd)
                env['LISTEN_PID'] = str(os.getpid())
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                p, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
                return self.returncode
            if p:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.01)
        return self.returncode


class Proc:
    """A process we started in its own session; stopped by PID (and its children by PID)."""

    def __init__(self, argv, env=None, cwd=None, log_path=None, listen_fd=None):
        self.log = open(log_path or os.devnull, 'ab')
        self.t_start = time.monotonic()
        if listen_fd is None:
            self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                         stdout=self.log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        else:
            self.proc = _Forked(argv, env, cwd, self.log.fileno(), listen_fd)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def tree(self):
        return [self.pid] + descendants_of(self.pid)

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
                 wrapper=(), extra_pool=(), listen_fd=None):
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
        if listen_fd is not None:
            if kind == 'fpm':
                env['FPM_SOCKETS'] = '%s=3' % self.socket  # php-fpm's own inherited-socket list
            else:
                env['LISTEN_FDS'] = '1'  # LISTEN_PID: set by _Forked in the child
        self.proc = Proc(list(wrapper) + argv, env=env, cwd=self.dir,
                         log_path=self.log_path + '.stdio', listen_fd=listen_fd)
        self.pid = self.proc.pid

    def params(self, script_filename, uri='/hello.php', query=''):
        """The CGI variables this backend's nginx sends (see nginx_params)."""
        return nginx_params(script_filename, uri, query)

    def hello(self, sock=None, timeout=5.0):
        return fcgi_get(sock or self.socket, None, timeout=timeout,
                        params=self.params(os.path.join(WWW, 'hello.php')))

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError('%s exited during start-up:\n%s' % (self.name, self.log_text()))
            if self.hello() is not None:
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


def uwsgi_available():
    """None if uWSGI and its PHP plugin are installed, else why not."""
    if not os.access(UWSGI_BIN, os.X_OK):
        return 'not installed: %s (Debian: uwsgi-core)' % UWSGI_BIN
    if not os.path.exists(os.path.join(UWSGI_PLUGINS, 'php_plugin.so')):
        return 'not installed: %s/php_plugin.so (Debian: uwsgi-plugin-php)' % UWSGI_PLUGINS
    return None


class UwsgiBackend(Backend):
    """uWSGI (Debian's uwsgi-core) with its PHP plugin: the same worker count, PHP settings and
    kind of socket as the pool above.

    - `plugin = 0:php`: requests arriving over FastCGI carry modifier1 0; the PHP plugin must
      answer to it (it registers as 14, and then uWSGI answers "unavailable modifier requested").
    - php.ini: PHPRC=the copy's directory and PHP_INI_SCAN_DIR=its conf.d, so PHP finds the same
      files as with the others' `-c` (uWSGI's `php-ini` option would set PHP's "ignore php.ini"
      flag, under which PHP skips PHP_INI_SCAN_DIR: conf.d would be lost).
    - php_admin_value lines become `php-set` lines (ini entries over php.ini, not locked).
    - The plugin ignores SCRIPT_FILENAME: it runs DOCUMENT_ROOT + PATH_INFO (its nginx passes
      PATH_INFO, see NGINX_CONF), restricted to `.php` by php-allowed-ext.
    - `disable-logging`: no per-request log line (php-fpm and php-pool write no access log);
      `die-on-term`: SIGTERM stops it (uWSGI 2.0's default for SIGTERM is a reload).
    """

    def __init__(self, tmp, ini_dir, name='uwsgi', children=MAX_CHILDREN):
        self.kind = 'uwsgi'
        self.name = name
        self.dir = os.path.join(tmp, self.name)
        os.makedirs(os.path.join(self.dir, 'uploads'), exist_ok=True)
        os.makedirs(os.path.join(self.dir, 'sessions'), exist_ok=True)
        self.socket = os.path.join(self.dir, 'php.sock')
        self.conf = os.path.join(self.dir, 'uwsgi.ini')
        self.log_path = os.path.join(self.dir, 'backend.log')
        admin = dict(ADMIN_VALUES)
        admin['upload_tmp_dir'] = os.path.join(self.dir, 'uploads')
        admin['session.save_path'] = os.path.join(self.dir, 'sessions')
        admin['sys_temp_dir'] = self.dir
        lines = ['[uwsgi]', 'plugins-dir = %s' % UWSGI_PLUGINS, 'plugin = 0:php',
                 'master = true', 'processes = %d' % children, 'max-requests = 0',
                 'fastcgi-socket = %s' % self.socket, 'listen = 511',
                 'php-allowed-ext = .php', 'php-index = index.php',
                 'disable-logging = true', 'die-on-term = true']
        lines += ['php-set = %s=%s' % kv for kv in admin.items()]
        lines += UWSGI_EXTRA  # --uwsgi-opt
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        env = {k: v for k, v in os.environ.items()
               if k not in ('LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'NOTIFY_SOCKET',
                            'WATCHDOG_USEC', 'WATCHDOG_PID', 'JOURNAL_STREAM', 'PHPRC')}
        env['PHPRC'] = ini_dir
        env['PHP_INI_SCAN_DIR'] = os.path.join(ini_dir, 'conf.d')
        self.proc = Proc([UWSGI_BIN, '--ini', self.conf], env=env, cwd=self.dir,
                         log_path=self.log_path + '.stdio')
        self.pid = self.proc.pid

    def params(self, script_filename, uri='/hello.php', query=''):
        p = nginx_params(script_filename, uri, query)
        p[b'PATH_INFO'] = p[b'SCRIPT_NAME']
        return p

    def stop(self):
        self.proc.stop(signal.SIGTERM)


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
{upstream}    server {{
        listen 127.0.0.1:{port} backlog=4096;
        server_name localhost;
        root {www};
        location ~ \\.php$ {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
{php_extra}{keep}            fastcgi_pass {pass_to};
        }}
        location /app/ {{
{app_root}            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME {app}/index.php;
            fastcgi_param SCRIPT_NAME /app/index.php;
{app_extra}{keep}            fastcgi_pass {pass_to};
        }}
        location = /ceiling {{
            return 200 "ok\\n";
        }}
    }}
}}
"""

# uWSGI's PHP plugin ignores SCRIPT_FILENAME: it runs DOCUMENT_ROOT + PATH_INFO (and answers 301
# to a request without PATH_INFO). Its nginx has these lines more; nothing else differs.
UWSGI_PHP_EXTRA = '            fastcgi_param PATH_INFO $fastcgi_script_name;\n'
UWSGI_APP_ROOT = '            root {here};\n'  # DOCUMENT_ROOT + /app/index.php = the app
UWSGI_APP_EXTRA = '            fastcgi_param PATH_INFO /app/index.php;\n'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Nginx:
    """One nginx (1 worker) in front of one backend. kind 'uwsgi' adds the PATH_INFO lines its
    PHP plugin needs; keepconn: an upstream block with `keepalive 32` and `fastcgi_keep_conn on`
    instead of a plain `fastcgi_pass unix:` (a new connection per request, Debian's default)."""

    def __init__(self, tmp, name, backend_socket, kind='fpm', keepconn=False):
        self.dir = os.path.join(tmp, 'nginx-' + name)
        os.makedirs(os.path.join(self.dir, 'temp'), exist_ok=True)
        self.port = free_port()
        conf = os.path.join(self.dir, 'nginx.conf')
        if keepconn:
            upstream = ('    upstream backend {\n        server unix:%s;\n        keepalive 32;\n'
                        '    }\n' % backend_socket)
            keep = ('            fastcgi_keep_conn on;\n'
                    '            add_header X-Conn $connection always;\n')
            pass_to = 'backend'
        else:
            upstream = keep = ''
            pass_to = 'unix:' + backend_socket
        uw = kind == 'uwsgi'
        with open(conf, 'w') as f:
            f.write(NGINX_CONF.format(
                user='user root root;\n' if IS_ROOT else '', dir=self.dir, port=self.port,
                www=WWW, app=APP, upstream=upstream, keep=keep, pass_to=pass_to,
                php_extra=UWSGI_PHP_EXTRA if uw else '',
                app_root=UWSGI_APP_ROOT.format(here=HERE) if uw else '',
                app_extra=UWSGI_APP_EXTRA if uw else ''))
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
        self.proc.stop(signal.SIGQUIT)
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

def wrk(tmp, url, lua, connections, duration, threads=2, timeout_s=10, count_conns=False):
    script = os.path.join(tmp, 'wrk-%s%s.lua' % ((lua or 'plain').replace('.lua', ''),
                                                '-conns' if count_conns else ''))
    if not os.path.exists(script):
        text = ''
        if lua:
            with open(os.path.join(LUA, lua)) as f:
                text = f.read()
        with open(script, 'w') as f:
            f.write(text + '\n' + (WRK_KEEPCONN_LUA if count_conns else WRK_DONE_LUA))
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
        'max_ms': d['max_us'] / 1000.0,
        'unserved_conns': connections - d['served_conns'] if 'served_conns' in d else 0,
    }


def listen_queue(path):
    """Connections waiting in the listening unix socket `path` (accepted by no worker yet), as
    `ss -xl` shows in Recv-Q, through sock_diag: no fork per sample. None if not found."""
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)  # NETLINK_SOCK_DIAG
    try:
        # unix_diag_req: AF_UNIX, listening sockets only, with their name and queue lengths
        req = struct.pack('=BBHIIIII', socket.AF_UNIX, 0, 0, 1 << 10, 0, 0x1 | 0x10, 0, 0)
        nl.send(struct.pack('=IHHII', 16 + len(req), 20, 0x1 | 0x300, 1, 0) + req)
        want = os.fsencode(path)
        found = None
        while True:
            data = nl.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, mtype = struct.unpack_from('=IH', data, off)
                if mtype in (2, 3):  # NLMSG_ERROR, NLMSG_DONE
                    return found
                name, rq = None, None
                a = off + 16 + 16  # nlmsghdr, unix_diag_msg
                while a + 4 <= off + length:
                    alen, atype = struct.unpack_from('=HH', data, a)
                    if alen < 4:
                        break
                    if atype == 0:  # UNIX_DIAG_NAME
                        name = data[a + 4:a + alen].rstrip(b'\0')
                    elif atype == 4:  # UNIX_DIAG_RQLEN: (queued, backlog)
                        rq = struct.unpack_from('=I', data, a + 4)[0]
                    a += (alen + 3) & ~3
                if name == want and rq is not None:
                    found = rq
                off += (length + 3) & ~3
    finally:
        nl.close()


class QueueSampler:
    """Samples a backend's listen queue every `interval` s in a thread while a load runs."""

    def __init__(self, path, interval=0.01):
        self.path, self.interval = path, interval
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.interval):
            q = listen_queue(self.path)
            if q is not None:
                self.samples.append(q)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.samples


def machine_jiffies():
    """(busy, idle) clock ticks of all CPUs together, from /proc/stat."""
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], v[3] + v[4]


def measure(tmp, backend, nginx, script, duration, timeout_s=10, count_conns=False):
    name, path, lua, conns, _ = script
    pids = [backend.pid] + backend.workers()
    before, before_ns = cpu_ticks(pids), cpu_ns(pids)
    # Who else needs the CPUs: nginx (one worker) and the machine as a whole. When they are
    # saturated, latency is queueing for a CPU, whichever backend is behind nginx.
    nginx_pids = [nginx.proc.pid] + descendants_of(nginx.proc.pid)
    nginx_before = cpu_ns(nginx_pids)
    busy0, idle0 = machine_jiffies()
    # Where requests wait: a backend that is the bottleneck keeps its listen queue full (the
    # requests wait their turn there); one that keeps up leaves them queued in nginx and for a CPU.
    sampler = QueueSampler(backend.socket)
    t0 = time.monotonic()
    try:
        r = wrk(tmp, nginx.url(path), lua, conns, duration, timeout_s=timeout_s,
                count_conns=count_conns)
    finally:
        queue = sorted(sampler.stop())
    wall = time.monotonic() - t0
    if queue:
        r['queue_p50'] = queue[len(queue) // 2]
        r['queue_p90'] = queue[len(queue) * 9 // 10]
    else:
        r['queue_p50'] = r['queue_p90'] = float('nan')
    busy1, idle1 = machine_jiffies()
    r['nginx_cpu_pct'] = (cpu_ns(nginx_pids) - nginx_before) / 1e9 / wall * 100
    r['box_busy_pct'] = (busy1 - busy0) * 100.0 / max(1, (busy1 - busy0) + (idle1 - idle0))
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
    """Every script answers 200 with the expected body; all run PHP alike. php-fpm or php-pool
    failing stops the run; uWSGI failing a script is recorded (returned as {script: why}) and
    that script is not measured on it, which the report says."""
    infos = {}
    unsupported = {}
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
            try:
                status, data = n.get(path, body, headers)
            except OSError as e:
                status, data = 'no answer (%s)' % e, b''
            if status != 200 or expect not in data:
                why = '%s answered %s %r' % (path, status, data[:200])
                if b.kind != 'uwsgi':
                    raise RuntimeError('%s: %s' % (b.name, why))
                unsupported[name] = why
                log('uwsgi: %s is not measured on it: %s' % (name, why))
        status, data = n.get('/info.php')
        if status != 200:
            raise RuntimeError('%s: /info.php answered %s' % (b.name, status))
        infos[b.kind] = json.loads(data)
    p = infos['pool']
    for kind, a in infos.items():
        if kind == 'pool':
            continue
        diff = {k: (a.get(k), p.get(k)) for k in set(a) | set(p)
                if k != 'sapi' and a.get(k) != p.get(k)}
        if diff:
            log('warning: %s and php-pool run PHP differently: %s' % (kind, diff))
    log('php-pool: %s' % json.dumps(p))
    return infos, unsupported


def runs_script(backend, script_name, unsupported=None):
    """Every backend runs every script but uWSGI where its plugin cannot (`unsupported`)."""
    return not (backend.kind == 'uwsgi' and script_name in (unsupported or {}))


def backends_for(backends, script_name, unsupported=None):
    return [b for b in backends if runs_script(b, script_name, unsupported)]


def load_phase(tmp, backends, nginxes, scripts, rounds, duration, warmup, unsupported=None):
    """Every round: each script on every backend back to back; the order flips every round."""
    results = {s[0]: {b.kind: [] for b in backends} for s in scripts}
    results['ceiling'] = {'nginx': []}

    def runs(s):
        return backends_for(backends, s[0], unsupported)
    for s in scripts:
        for b in runs(s):
            wrk(tmp, nginxes[b.kind].url(s[1]), s[2], s[3], warmup)
    for rnd in range(rounds):
        order = backends if rnd % 2 == 0 else backends[::-1]
        for s in scripts:
            for b in order:
                if b not in runs(s):
                    continue
                r = measure(tmp, b, nginxes[b.kind], s, duration)
                results[s[0]][b.kind].append(r)
                log('round %d %-7s %-5s %8.0f req/s  p50 %7.2f ms  p99 %7.2f ms  cpu %7.1f us/req'
                    '  err %d/%d' % (rnd + 1, s[0], b.kind, r['rps'], r['p50_ms'], r['p99_ms'],
                                     r['cpu_us'], r['non2xx'], r['sockerr']))
        r = wrk(tmp, nginxes['fpm'].url('/ceiling'), None, 32, duration)
        results['ceiling']['nginx'].append(r)
        log('round %d ceiling nginx %8.0f req/s' % (rnd + 1, r['rps']))
    return results


# keep-conn phase: wrk connections > workers, nginx keeps upstream connections open.
KEEPCONN_CONNS = 64
# wrk's own default: a request waiting longer counts as a timeout (in "socket errors"). With
# kept connections, nginx's new upstream connections can sit in the backend's backlog while
# every worker serves a kept one; wrk's latencies cover completed requests only, so without a
# timeout shorter than the run those stalled requests would not show at all.
KEEPCONN_TIMEOUT = 2
KEEPCONN_SCRIPTS = [
    ('hello', '/hello.php', None, KEEPCONN_CONNS, b'Hello, world!'),
    ('sleep', '/sleep.php', None, KEEPCONN_CONNS, b'slept'),
    # A light load beside slow requests, as on a site with a slow report page: nginx sends the
    # next request on any kept connection, also one that waits with a worker busy for 1.5 s.
    ('mixed', '/hello.php', None, 4, b'Hello, world!'),
]
# Clients that keep slow requests running through the same nginx during a keep-conn script.
KEEPCONN_SLOW_BESIDE = {'mixed': ('/sleep.php?ms=1500', 2)}


class SlowClients:
    """N threads that each request URL again and again until stopped."""

    def __init__(self, nginx, path, n):
        self.stopping = threading.Event()
        self.failed = 0

        def run():
            while not self.stopping.is_set():
                try:
                    status, _ = nginx.get(path)
                    self.failed += status != 200
                except OSError:
                    self.failed += 1
        self.threads = [threading.Thread(target=run, daemon=True) for _ in range(n)]
        for t in self.threads:
            t.start()
        time.sleep(0.5)  # running by the time the load starts

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join()
        return self.failed


def fcgi_keeps_conn(backend):
    """Does the backend keep a FastCGI connection open after a request sent with
    FCGI_KEEP_CONN (nginx's fastcgi_keep_conn on)? Two requests on one connection."""
    params = backend.params(os.path.join(WWW, 'hello.php'))
    body = b''.join(_nv(k, v) for k, v in params.items())
    msg = (_record(1, 1, struct.pack('!HB5x', 1, 1)) + _record(4, 1, body) + _record(4, 1)
           + _record(5, 1))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(backend.socket)
        for _ in range(2):
            s.sendall(msg)
            buf = b''
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return False
                buf += chunk
                # FCGI_END_REQUEST for request 1: header 01 03 00 01
                if b'\x01\x03\x00\x01\x00\x08' in buf and buf.endswith(b'\0' * 8):
                    break
        return True
    except OSError:
        return False
    finally:
        s.close()


def keepconn_phase(tmp, backends, kc_nginxes, rounds, duration, warmup):
    results = {s[0]: {b.kind: [] for b in backends} for s in KEEPCONN_SCRIPTS}
    def beside(s, b):
        slow = KEEPCONN_SLOW_BESIDE.get(s[0])
        return SlowClients(kc_nginxes[b.kind], slow[0], slow[1]) if slow else None

    for s in KEEPCONN_SCRIPTS:
        for b in backends:
            slow = beside(s, b)
            wrk(tmp, kc_nginxes[b.kind].url(s[1]), s[2], s[3], warmup)
            if slow:
                slow.stop()
    for rnd in range(rounds):
        order = backends if rnd % 2 == 0 else backends[::-1]
        for s in KEEPCONN_SCRIPTS:
            for b in order:
                # The previous measurement's backlog (64 clients' requests queued for 4 workers,
                # 50 ms each: about a second) drains first, not into this one's figures.
                time.sleep(1.5)
                slow = beside(s, b)
                try:
                    r = measure(tmp, b, kc_nginxes[b.kind], s, duration, KEEPCONN_TIMEOUT,
                                count_conns=True)
                finally:
                    if slow and slow.stop():
                        log('warning: %s: %d slow requests beside %s failed'
                            % (b.kind, slow.failed, s[0]))
                results[s[0]][b.kind].append(r)
                log('round %d keep-conn %-5s %-5s %8.0f req/s  p50 %7.2f ms  p99 %7.2f ms  '
                    'max %7.0f ms  err %d/%d  never answered %d of %d connections'
                    % (rnd + 1, s[0], b.kind, r['rps'], r['p50_ms'], r['p99_ms'], r['max_ms'],
                       r['non2xx'], r['sockerr'], r['unserved_conns'], s[3]))
    return results


# php-pool's workers give back what their requests left behind once idle this long (their
# pm.process_idle_timeout, default 10 s); php-fpm's keep it.
POOL_IDLE_RELEASE_S = 10


def pss_figures(b):
    """(manager kB, [each worker kB], [other processes kB], workers and others together kB)"""
    workers = b.workers()
    w = [pss_kb(p) for p in workers]
    # Any other process below the manager counts with the workers (none at present: php-pool
    # answers seccomp notifications in its manager; it used to run a helper per worker).
    helpers = [pss_kb(p) for p in descendants_of(b.pid) if p not in workers]
    return pss_kb(b.pid), w, helpers, sum(w) + sum(helpers)


def memory_phase(tmp, backends, nginxes, unsupported=None, warm_s=1):
    """PSS after warm-up: each backend in turn serves every script for warm_s seconds, then idles
    1.5 s and is measured ("warm"); once every backend has been idle past php-pool's release
    delay, all are measured again ("idle": php-pool's workers have given back what requests
    left behind, php-fpm's and uWSGI's keep it)."""
    out = {}
    ended = {}
    for b in backends:
        for name, path, lua, conns, _ in SCRIPTS:
            if runs_script(b, name, unsupported):
                wrk(tmp, nginxes[b.kind].url(path), lua, conns, warm_s)
        ended[b.kind] = time.monotonic()
        time.sleep(1.5)
        manager, w, helpers, all_w = pss_figures(b)
        out[b.kind] = {'pss_manager_kb': manager,
                       'pss_worker_avg_kb': all_w / max(1, len(w)),
                       'pss_workers_kb': all_w, 'pss_total_kb': manager + all_w,
                       'workers': len(w)}
        log('%s PSS 1.5 s after its warm-up: manager %d kB, workers %s kB, other processes %s kB'
            % (b.name, manager, w, helpers))
    time.sleep(max(0.0, max(ended.values()) + POOL_IDLE_RELEASE_S + 1.5 - time.monotonic()))
    for b in backends:
        manager, w, _helpers, all_w = pss_figures(b)
        out[b.kind]['pss_workers_idle_kb'] = all_w
        out[b.kind]['pss_total_idle_kb'] = manager + all_w
        log('%s PSS idle %.0f s: manager %d kB, workers %s kB'
            % (b.name, time.monotonic() - ended[b.kind], manager, w))
    return out


def busy_memory_phase(tmp, backends, nginxes, unsupported=None, seconds=4):
    """The workers' PSS while they serve: each backend in turn under the app script's load,
    sampled halfway through."""
    name, path, lua, conns, _ = next(s for s in SCRIPTS if s[0] == 'app')
    out = {}
    for b in backends_for(backends, name, unsupported):
        t = threading.Thread(target=wrk, args=(tmp, nginxes[b.kind].url(path), lua, conns,
                                                seconds))
        t.start()
        time.sleep(seconds / 2)
        w = [pss_kb(p) for p in b.workers()]
        t.join()
        out[b.kind] = {'pss_workers_busy_kb': sum(w)}
        log('%s PSS under load (%s): workers %s kB' % (b.name, name, w))
    return out


# Sparse traffic: a quiet site's requests, each arriving SPARSE_GAP_S after the previous one.
SPARSE_SCRIPTS = ('cpu', 'app')
SPARSE_GAP_S = 2.0
SPARSE_COUNT = 8


def sparse_phase(backends, nginxes, unsupported=None):
    """Single requests through nginx, each SPARSE_GAP_S after the same backend's previous one
    ended (the backends take turns), after 10 back to back (Zend's chunk cache grows to a
    script's peak over a few requests): the latency of each. Memory given back while idle is
    paid for by the next request (php-pool used to give it back after 1 s)."""
    out = {}
    for name in SPARSE_SCRIPTS:
        path = next(s[1] for s in SCRIPTS if s[0] == name)
        runs = backends_for(backends, name, unsupported)
        last = {}
        for b in runs:
            for _ in range(10):
                nginxes[b.kind].get(path)
            last[b.kind] = time.monotonic()
        lat = {b.kind: [] for b in runs}
        for _ in range(SPARSE_COUNT):
            for b in runs:
                time.sleep(max(0.0, last[b.kind] + SPARSE_GAP_S - time.monotonic()))
                t = time.monotonic()
                status, _body = nginxes[b.kind].get(path)
                last[b.kind] = time.monotonic()
                if status != 200:
                    raise RuntimeError('%s %s: status %d' % (b.name, path, status))
                lat[b.kind].append({'sparse_ms': (last[b.kind] - t) * 1000})
        out[name] = lat
        log('sparse %s: %s' % (name, ', '.join(
            '%s median %.2f ms' % (k, med([x['sparse_ms'] for x in v])) for k, v in lat.items())))
    return out


def oncpu_us(pid):
    """Microseconds PID has run (/proc/PID/schedstat), 0 when it is gone."""
    try:
        with open('/proc/%d/schedstat' % pid) as f:
            return int(f.read().split()[0]) / 1000
    except (OSError, ValueError, IndexError):
        return 0


def idle_phase(backends, seconds=5):
    """CPU an idle pool costs (hosts run thousands of mostly idle pools): the manager's and the
    workers' µs per second over SECONDS with no request, all backends measured at once."""
    pids = {b.kind: (b.pid, b.workers()) for b in backends}
    before = {k: (oncpu_us(m), sum(oncpu_us(w) for w in ws)) for k, (m, ws) in pids.items()}
    time.sleep(seconds)
    out = {}
    for k, (m, ws) in pids.items():
        man = (oncpu_us(m) - before[k][0]) / seconds
        wrk = (sum(oncpu_us(w) for w in ws) - before[k][1]) / seconds
        out[k] = {'idle_manager_us_per_s': man, 'idle_workers_us_per_s': wrk}
        log('%s idle: manager %.0f µs/s, workers %.0f µs/s' % (k, man, wrk))
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


def php_cli_floor_ms(ini_dir, script):
    """PHP's own floor for a cold start with this php.ini: Debian's php-cli, the same engine
    build as php-fpm, starts (php.ini, conf.d, every extension's MINIT; opcache.enable_cli=1, so
    that opcache sets up its shared memory as in both servers), runs `script` and writes its
    output. No socket, no fork, no FastCGI: what no server that starts PHP can go below. Started
    and timed as the servers are (_Forked, from the fork to the first bytes of output)."""
    env = dict(os.environ, PHP_INI_SCAN_DIR=os.path.join(ini_dir, 'conf.d'))
    argv = [PHP_CLI_BIN, '-c', os.path.join(ini_dir, 'php.ini'), '-d', 'opcache.enable_cli=1',
            script]
    r, w = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        t0 = time.monotonic()
        p = _Forked(argv, env, None, w, null)  # /dev/null as the fd 3 it ignores
        os.close(w)
        w = -1
        out = os.read(r, 5)
        t = (time.monotonic() - t0) * 1000
        while os.read(r, 65536):
            pass
        p.wait(10)
    finally:
        for fd in (r, w, null):
            if fd >= 0:
                os.close(fd)
    if out != b'Hello':
        raise RuntimeError('%s %s gave %r' % (PHP_CLI_BIN, script, out))
    return t


def socket_phase(tmp, ini_dir, pool_bin, tries):
    """Socket-activated cold start, the same way for both: the harness creates the listening
    unix socket, connects to it and sends a request (it waits in the backlog), then fork+execs
    the backend with the socket as fd 3 (php-fpm: FPM_SOCKETS="PATH=3", it logs "using
    inherited socket"; php-pool: LISTEN_FDS=1, LISTEN_PID) and times from the fork to the end
    of the response."""
    res = {'fpm': [], 'pool': [], 'floor': []}
    have_cli = os.access(PHP_CLI_BIN, os.X_OK)
    if not have_cli:
        log('php-cli floor: not measured: %s is not installed (Debian: php8.2-cli)' % PHP_CLI_BIN)
    hello = os.path.join(WWW, 'hello.php')
    params = nginx_params(hello)
    body = b''.join(_nv(k, v) for k, v in params.items())
    msg = (_record(1, 1, struct.pack('!HB5x', 1, 0)) + _record(4, 1, body) + _record(4, 1)
           + _record(5, 1))
    for i in range(tries):
        for kind in (('fpm', 'pool') if i % 2 == 0 else ('pool', 'fpm')):
            name = 'activated-%s-%d' % (kind, i)
            path = os.path.join(tmp, name, 'php.sock')
            os.makedirs(os.path.dirname(path), exist_ok=True)
            lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            lsock.bind(path)
            os.chmod(path, 0o666)
            lsock.listen(511)
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.settimeout(20)
            c.connect(path)
            c.sendall(msg)
            b = None
            try:
                t0 = time.monotonic()
                b = Backend(kind, tmp, ini_dir, pool_bin, name=name, listen_fd=lsock.fileno())
                lsock.close()  # the backend has its copy
                buf = b''
                done = False
                while not done:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                    done = b'\x01\x03\x00\x01\x00\x08' in buf
                t = (time.monotonic() - t0) * 1000
                if not done or b'Hello' not in buf:
                    raise RuntimeError('socket-activated %s did not answer:\n%s'
                                       % (kind, b.log_text()))
                if kind == 'fpm' and 'using inherited socket' not in b.log_text():
                    log('warning: php-fpm did not log "using inherited socket"')
                res[kind].append(t)
                log('socket-activated %s: first response after %.1f ms' % (kind, t))
                # php-pool logs how long PHP's own start-up took (php.ini, conf.d, every
                # extension's MINIT): the part of a cold start no FastCGI server can skip.
                m = re.search(r'PHP engine started in ([0-9.]+) ms', b.log_text())
                if kind == 'pool' and m:
                    res.setdefault('pool_engine', []).append(float(m.group(1)))
            finally:
                c.close()
                lsock.close()
                if b:
                    b.stop()
        if have_cli:
            t = php_cli_floor_ms(ini_dir, hello)
            res['floor'].append(t)
            log('php-cli floor: output after %.1f ms' % t)
    return res


def reload_phase(tmp, ini_dir, pool_bin, reloads, interval, with_uwsgi=False):
    """Failed requests across `reloads` graceful reloads under load."""
    cases = [('fpm_pct0', 'fpm', '0', signal.SIGUSR2), ('fpm_pct10s', 'fpm', '10s', signal.SIGUSR2),
             ('pool', 'pool', None, signal.SIGHUP)]
    if with_uwsgi:
        cases.append(('uwsgi', 'uwsgi', None, signal.SIGHUP))  # uWSGI's graceful reload
    out = {}
    for case, kind, pct, sig in cases:
        b = n = None
        try:
            if kind == 'uwsgi':
                b = UwsgiBackend(tmp, ini_dir, name='reload-' + case)
            else:
                b = Backend(kind, tmp, ini_dir, pool_bin, name='reload-' + case,
                            process_control_timeout=pct)
            n = Nginx(tmp, 'reload-' + case, b.socket, kind=kind)
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
            alive = b.proc.alive() and b.hello() is not None
            out[case] = {'failed': r['non2xx'] + r['sockerr'], 'requests': r['requests'],
                         'non2xx': r['non2xx'], 'sockerr': r['sockerr'], 'alive': alive,
                         'max_ms': r['max_ms'], 'p99_ms': r['p99_ms']}
            log('reload %s: %d failed of %d (%d non-2xx, %d socket errors), p99 %.0f ms, '
                'max %.0f ms, serving after: %s'
                % (case, out[case]['failed'], r['requests'], r['non2xx'], r['sockerr'],
                   r['p99_ms'], r['max_ms'], alive))
        finally:
            if n:
                n.stop()
            if b:
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
    if metric in ('non2xx', 'sockerr', 'failed', 'unserved_conns'):
        return '%d' % v
    if metric.endswith('_kb'):
        return '%.0f' % v
    if metric.endswith('_ms') or metric.startswith('cpu_us'):
        return '%.3g' % v if v < 10 else '%.1f' % v
    return '%.3g' % v


LOAD_METRICS = [('rps', 'req/s'), ('p50_ms', 'p50 ms'), ('p99_ms', 'p99 ms'),
                ('cpu_us', 'CPU µs/req'), ('cpu_us_ticks', 'CPU µs/req (stat ticks)'),
                ('nginx_cpu_pct', 'nginx CPU, % of one core'),
                ('box_busy_pct', 'machine busy, % of both cores'),
                ('queue_p50', 'connections waiting in the backend\'s listen queue, median'),
                ('queue_p90', 'connections waiting in the backend\'s listen queue, p90'),
                ('non2xx', 'non-2xx'), ('sockerr', 'socket errors')]
KEEPCONN_METRICS = [('rps', 'keep-conn req/s'), ('p50_ms', 'keep-conn p50 ms'),
                    ('p99_ms', 'keep-conn p99 ms'), ('max_ms', 'keep-conn max ms'),
                    ('cpu_us', 'keep-conn CPU µs/req'),
                    ('unserved_conns', 'keep-conn wrk conns never answered'),
                    ('non2xx', 'keep-conn non-2xx'),
                    ('sockerr', 'keep-conn socket errors')]
COUNT_METRICS = ('non2xx', 'sockerr')


def summarize(load, memory, startup, ondemand, reload, reloads=10, activated=None,
              keepconn=None, sparse=None):
    """(rows, peer). rows: (group, metric, label, fpm median, pool median, ratio median,
    ratio min, ratio max), php-pool against php-fpm. peer: {(group, metric): (uwsgi median,
    uwsgi/fpm ratio median, ratio min, ratio max)} for the rows uWSGI was measured in."""
    rows = []
    peer = {}

    def series(group, data, metrics):
        f, p = data['fpm'], data['pool']
        u = data.get('uwsgi') or []
        for metric, label in metrics:
            fv = [x[metric] for x in f]
            pv = [x[metric] for x in p]
            uv = [x[metric] for x in u]
            if metric in COUNT_METRICS:
                rows.append((group, metric, label, sum(fv), sum(pv), float('nan'), None, None))
                if uv:
                    peer[(group, metric)] = (sum(uv), float('nan'), None, None)
                continue
            rs = [ratio(b, a) for a, b in zip(fv, pv)]
            rows.append((group, metric, label, med(fv), med(pv), med(rs), min(rs), max(rs)))
            if uv:
                # uWSGI ran right after/before php-fpm in the same round: per-round ratios too.
                us = [ratio(c, a) for a, c in zip(fv, uv)]
                peer[(group, metric)] = (med(uv), med(us), min(us), max(us))

    for script in [s[0] for s in SCRIPTS if s[0] in load]:
        series(script, load[script], LOAD_METRICS)
    if load.get('ceiling', {}).get('nginx'):
        c = [x['rps'] for x in load['ceiling']['nginx']]
        rows.append(('ceiling', 'rps', 'nginx return 200 req/s', med(c), float('nan'),
                     float('nan'), min(c), max(c)))
    for script in [s[0] for s in KEEPCONN_SCRIPTS if s[0] in (keepconn or {})]:
        series('keepconn_' + script, keepconn[script], KEEPCONN_METRICS)
    for script in [s for s in SPARSE_SCRIPTS if s in (sparse or {})]:
        series('sparse_' + script, sparse[script],
               [('sparse_ms', 'request %g s after the previous one, ms' % SPARSE_GAP_S)])
    if memory:
        for metric, label in [('pss_manager_kb', 'PSS manager kB'),
                              ('pss_worker_avg_kb', 'PSS per worker kB'),
                              ('pss_workers_kb', 'PSS all workers kB'),
                              ('pss_total_kb', 'PSS manager + workers kB'),
                              ('pss_workers_idle_kb', 'PSS all workers, idle %d s kB'
                               % (POOL_IDLE_RELEASE_S + 1)),
                              ('pss_total_idle_kb', 'PSS manager + workers, idle %d s kB'
                               % (POOL_IDLE_RELEASE_S + 1)),
                              ('pss_workers_busy_kb', 'PSS all workers, under load (app) kB')]:
            if metric not in memory['fpm']:
                continue
            a, b = memory['fpm'][metric], memory['pool'][metric]
            rows.append(('memory', metric, label, a, b, ratio(b, a), None, None))
            if metric in memory.get('uwsgi', {}):
                c = memory['uwsgi'][metric]
                peer[('memory', metric)] = (c, ratio(c, a), None, None)
        for metric, label in [('idle_manager_us_per_s', 'idle: manager CPU µs/s'),
                              ('idle_workers_us_per_s', 'idle: workers CPU µs/s')]:
            if metric not in memory['fpm']:
                continue
            a, b = memory['fpm'][metric], memory['pool'][metric]
            rows.append(('idle', metric, label, a, b, ratio(b, a), None, None))
            if metric in memory.get('uwsgi', {}):
                c = memory['uwsgi'][metric]
                peer[('idle', metric)] = (c, ratio(c, a), None, None)
    if startup:
        rs = [ratio(b, a) for a, b in zip(startup['fpm'], startup['pool'])]
        rows.append(('startup', 'first_response_ms', 'start to first response ms',
                     med(startup['fpm']), med(startup['pool']), med(rs), min(rs), max(rs)))
    if activated:
        rs = [ratio(b, a) for a, b in zip(activated['fpm'], activated['pool'])]
        rows.append(('startup', 'socket_activated_ms',
                     'socket-activated cold start to 1st response ms',
                     med(activated['fpm']), med(activated['pool']), med(rs), min(rs), max(rs)))
        if activated.get('floor'):
            rs = [ratio(f, a) for a, f in zip(activated['fpm'], activated['floor'])]
            rows.append(('startup', 'php_cli_floor_ms',
                         'floor, no server: php-cli runs hello.php, same php.ini ms '
                         '(php-pool column: the floor; ratio: floor / php-fpm)',
                         med(activated['fpm']), med(activated['floor']), med(rs), min(rs),
                         max(rs)))
        if activated.get('pool_engine'):
            e = activated['pool_engine']
            rows.append(('startup', 'pool_engine_ms', "of which php-pool's PHP engine start-up ms",
                         float('nan'), med(e), float('nan'), min(e), max(e)))
    if ondemand:
        rs = [ratio(b, a) for a, b in zip(ondemand['fpm'], ondemand['pool'])]
        rows.append(('ondemand', 'first_request_ms', 'ondemand first request ms',
                     med(ondemand['fpm']), med(ondemand['pool']), med(rs), min(rs), max(rs)))
    if reload:
        for case in ('fpm_pct0', 'fpm_pct10s'):
            if case in reload and 'pool' in reload:
                pct = '0' if case == 'fpm_pct0' else '10s'
                label = 'failed requests, %d reloads (fpm pct=%s)' % (reloads, pct)
                rows.append(('reload', 'failed_' + case, label, reload[case]['failed'],
                             reload['pool']['failed'], float('nan'), None, None))
                if 'uwsgi' in reload:
                    peer[('reload', 'failed_' + case)] = (reload['uwsgi']['failed'],
                                                          float('nan'), None, None)
                label = 'max latency during reloads ms (fpm pct=%s)' % pct
                metric = 'maxlat_%s_ms' % case  # maxlat_fpm_pct0_ms, maxlat_fpm_pct10s_ms
                a, b = reload[case]['max_ms'], reload['pool']['max_ms']
                rows.append(('reload', metric, label, a, b, ratio(b, a), None, None))
                if 'uwsgi' in reload:
                    c = reload['uwsgi']['max_ms']
                    peer[('reload', metric)] = (c, ratio(c, a), None, None)
    return rows, peer


# What the lead asked for beyond TARGETS' load figures.
TARGETS[('startup', 'socket_activated_ms')] = (0.80, 'le')


def target_note(group, metric, r):
    t = TARGETS.get((group, metric))
    if not t or r != r:
        return ''
    bound, d = t
    ok = r <= bound if d == 'le' else r >= bound
    return '%s %s %.2f' % ('met' if ok else 'MISSED', '≤' if d == 'le' else '≥', bound)


def _spread(g, lo, hi):
    if lo is None or hi is None:
        return ''
    return '%.2f–%.2f' % (lo, hi) if g != 'ceiling' else '%.0f–%.0f' % (lo, hi)


def peer_cells(peer, g, m, notes_unsupported=None):
    """uWSGI's value and uwsgi/fpm ratio (median, min–max) for a row, or '' / 'not run'."""
    if (g, m) in peer:
        v, r, lo, hi = peer[(g, m)]
        rs = '%.2f' % r if r == r else ''
        if lo is not None and r == r:
            rs += ' (%s)' % _spread(g, lo, hi)
        return fmt(v, m), rs
    if notes_unsupported and g in notes_unsupported:
        return 'not run', ''
    return '', ''


def render_table(rows, peer=None, unsupported=None):
    peer = peer or {}
    lines = []
    fmt_row = '%-15s %-46s %11s %11s %7s %12s  %-14s'
    if peer:
        fmt_row += ' %11s %17s'
    hdr_cells = ('script', 'figure', 'php-fpm', 'php-pool', 'ratio', 'ratio min–max', 'target')
    if peer:
        hdr_cells += ('uwsgi', 'uwsgi/fpm (range)')
    hdr = fmt_row % hdr_cells
    lines.append(hdr)
    lines.append('-' * len(hdr))
    for g, m, label, a, b, r, lo, hi in rows:
        rs = '%.2f' % r if r == r else ''
        cells = (g, label, fmt(a, m), fmt(b, m) if b == b else '', rs, _spread(g, lo, hi),
                 target_note(g, m, r))
        if peer:
            cells += peer_cells(peer, g, m, unsupported)
        lines.append((fmt_row % cells).rstrip())
    return '\n'.join(lines)


def bench_lines(rows, peer=None):
    """One line per figure, php-pool against php-fpm (as before); then one `peer=uwsgi` line per
    figure uWSGI was measured in, uWSGI against php-fpm."""
    out = []
    for g, m, _, a, b, r, lo, hi in rows:
        s = 'BENCH script=%s metric=%s fpm=%s pool=%s ratio=%s' % (
            g, m, fmt(a, m), fmt(b, m) if b == b else 'n/a', '%.3f' % r if r == r else 'n/a')
        if lo is not None:
            s += ' min=%.3f max=%.3f' % (lo, hi)
        out.append(s)
    by_row = {(g, m): a for g, m, _, a, *_rest in rows}
    for (g, m), (v, r, lo, hi) in (peer or {}).items():
        s = 'BENCH script=%s metric=%s peer=uwsgi fpm=%s uwsgi=%s ratio=%s' % (
            g, m, fmt(by_row.get((g, m), float('nan')), m), fmt(v, m),
            '%.3f' % r if r == r else 'n/a')
        if lo is not None:
            s += ' min=%.3f max=%.3f' % (lo, hi)
        out.append(s)
    return out


def rows_from_bench_lines(path):
    """summarize()'s (rows, peer) (enough of them for plot()) from saved BENCH lines."""
    rows = []
    peer = {}
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
            if kv.get('peer') == 'uwsgi':
                peer[(kv['script'], kv['metric'])] = (num('uwsgi'), num('ratio'), lo, hi)
                continue
            rows.append((kv['script'], kv['metric'], kv['metric'], num('fpm'), num('pool'),
                         num('ratio'), lo, hi))
    return rows, peer


def _plot_ratios(ax, by, xs, metrics, ylabel, title):
    width = 0.8 / len(metrics)
    for i, (m, label) in enumerate(metrics):
        vals, errs_lo, errs_hi = [], [], []
        for s in xs:
            r, lo, hi = by.get((s, m), (float('nan'), None, None))
            vals.append(r)
            errs_lo.append(r - lo if lo is not None and r == r else 0)
            errs_hi.append(hi - r if hi is not None and r == r else 0)
        pos = [j + (i - (len(metrics) - 1) / 2) * width for j in range(len(xs))]
        ax.errorbar(pos, vals, yerr=[errs_lo, errs_hi], fmt='o', markersize=7, capsize=4,
                    label=label)
    ax.axhline(1.0, color='black', linewidth=0.8)
    ax.set_yscale('log', base=2)
    ax.grid(axis='y', alpha=0.3)
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels(xs, rotation=15)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc='best', fontsize='small')


def _plot_points(ax, by, other, title):
    labels, vals = [], []
    for g, m, label in other:
        if (g, m) in by and by[(g, m)][0] == by[(g, m)][0]:
            labels.append(label)
            vals.append(by[(g, m)][0])
    ax.plot(range(len(vals)), vals, 'o', color='tab:gray', markersize=8)
    ax.axhline(1.0, color='black', linewidth=0.8)
    ax.set_yscale('log', base=2)
    ax.set_xlim(-0.5, max(len(vals), 1) - 0.5)
    ax.set_ylim(min([0.25] + [v / 1.5 for v in vals]), max([4] + [v * 1.5 for v in vals]))
    ax.set_xticks(range(len(vals)))
    ax.set_xticklabels(labels, rotation=30, ha='right')
    ax.set_title(title)
    ax.grid(axis='y', alpha=0.3)


def plot(rows, path, peer=None):
    """Top: php-pool / php-fpm (load figures incl. keep-conn; memory and start-up). Bottom, when
    uWSGI ran: uwsgi / php-fpm, the same way."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        log('matplotlib not importable (python3-matplotlib is Debian\'s: run /usr/bin/python3): no plot')
        return False
    peer = peer or {}
    groups = [s[0] for s in SCRIPTS] + ['keepconn_' + s[0] for s in KEEPCONN_SCRIPTS]
    metrics = [('rps', 'req/s'), ('p99_ms', 'p99 latency'), ('cpu_us', 'CPU per request')]
    other = [('memory', 'pss_workers_kb', 'PSS workers'), ('memory', 'pss_total_kb', 'PSS total'),
             ('memory', 'pss_workers_idle_kb', 'PSS workers idle'),
             ('sparse_cpu', 'sparse_ms', 'cpu 2 s apart'),
             ('startup', 'first_response_ms', 'start-up'),
             ('startup', 'socket_activated_ms', 'socket-activated'),
             ('ondemand', 'first_request_ms', 'ondemand 1st'),
             ('reload', 'maxlat_fpm_pct10s_ms', 'reload max lat.')]
    by = {(g, m): (r, lo, hi) for g, m, _, a, b, r, lo, hi in rows}
    byu = {k: (r, lo, hi) for k, (v, r, lo, hi) in peer.items()}
    panels = [(by, 'php-pool / php-fpm')]
    if byu:
        panels.append((byu, 'uwsgi / php-fpm'))
    fig, axes = plt.subplots(len(panels), 2, figsize=(14, 5 * len(panels)), squeeze=False,
                             gridspec_kw={'width_ratios': [3, 1]})
    for row, (d, name) in enumerate(panels):
        xs = [g for g in groups if (g, 'rps') in d]
        _plot_ratios(axes[row][0], d, xs, metrics,
                     '%s, log scale (median over rounds, bars: min–max)' % name,
                     'Load figures: %s' % name)
        _plot_points(axes[row][1], d, other, 'Memory, start-up, reload')
        for a in axes[row]:
            a.yaxis.set_major_formatter(FuncFormatter(lambda v, _: '%g' % v))
    fig.suptitle('against php-fpm 8.2 (below 1 is better for latency, CPU, memory; above 1 '
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
        'uwsgi': ('uWSGI %s + php_plugin' % first([UWSGI_BIN, '--version'])
                  if uwsgi_available() is None else 'n/a'),
        'loadavg': open('/proc/loadavg').read().split()[:3],
    }


NOTES_MARKER = '<!-- notes: kept when bench.py rewrites this file -->'


def peer_notes(peer_status):
    """Lines saying where uWSGI was not measured, and why."""
    out = []
    if peer_status.get('absent'):
        out.append('uwsgi: not measured: %s' % peer_status['absent'])
    for script, why in sorted(peer_status.get('unsupported', {}).items()):
        out.append('uwsgi: %s not measured (its sanity check failed: %s)' % (script, why))
    if peer_status.get('keepconn'):
        out.append('uwsgi: keep-conn phase skipped: %s' % peer_status['keepconn'])
    return out


def write_results_md(path, rows, info, args, table, lines, have_plot, peer=None,
                     peer_status=None):
    peer = peer or {}
    peer_status = peer_status or {}
    md = ['# php-pool vs php-fpm 8.2 (and uWSGI): benchmark results', '',
          'Produced by `python3 bench/bench.py` (see bench/README.md). php-pool / php-fpm and '
          'uwsgi / php-fpm ratios are medians of the per-round ratios; the spread is min–max over '
          'the rounds.', '',
          '## Machine', '']
    for k in ('nproc', 'cpu', 'memory', 'kernel', 'php-fpm', 'php-pool', 'uwsgi', 'nginx', 'wrk',
              'commit'):
        md.append('- %s: %s' % (k, info.get(k, 'n/a')))
    md.append('- load average at start: %s' % ' '.join(info['loadavg']))
    md += ['', '## Settings', '',
           '- php-fpm and php-pool: pm = static, pm.max_children = %d, identical copies of %s and '
           '%s (-c and PHP_INI_SCAN_DIR), the same php_admin_value lines, unix sockets' % (
               MAX_CHILDREN, PHP_INI_SRC, PHP_CONFD_SRC),
           '- uWSGI (PHP plugin): master = true, processes = %d, fastcgi-socket on a unix socket, '
           'the same php.ini copies (PHPRC and PHP_INI_SCAN_DIR), the php_admin_value lines as '
           'php-set, disable-logging; its nginx also passes PATH_INFO (the plugin runs '
           'DOCUMENT_ROOT + PATH_INFO, not SCRIPT_FILENAME)%s' % (
               MAX_CHILDREN, '; more lines: ' + ', '.join('`%s`' % x for x in UWSGI_EXTRA)
               if UWSGI_EXTRA else ''),
           '- each behind its own nginx (1 worker, identical config but port and socket, '
           'fastcgi_keep_conn off)',
           '- wrk -t2, %d s per measurement, %d rounds in alternation (the order flips every '
           'round), %d s warm-up per script and backend' % (args.duration, args.rounds,
                                                            args.warmup),
           '- keep-conn: a second nginx per backend with `upstream { server unix:SOCK; keepalive '
           '32; }` and `fastcgi_keep_conn on`, wrk -c%d against %d workers, wrk --timeout %ds '
           '(a request waiting longer counts in socket errors)' % (
               KEEPCONN_CONNS, MAX_CHILDREN, KEEPCONN_TIMEOUT),
           '- backend CPU per request: utime+stime of the manager and every process below it '
           '(the workers) over the run, '
           'divided by the requests; "CPU µs/req" from /proc/PID/schedstat (the same sum, in ns), '
           '"(stat ticks)" from /proc/PID/stat utime+stime (10 ms ticks: coarse for the slow '
           'scripts)',
           '- PSS (/proc/PID/smaps_rollup) after all load rounds: each backend in turn serves every '
           'script for 1 s, idles 1.5 s and is measured; then all again once idle %d s (php-pool\'s '
           'workers give back what requests left cached after pm.process_idle_timeout, 10 s; '
           'php-fpm\'s keep it); "workers" '
           'include any other process below the manager (there is none)' % (POOL_IDLE_RELEASE_S + 1),
           '- sparse traffic: %s, %d single requests each %g s after the same backend\'s previous '
           'one (after 10 back to back), through nginx' % (' and '.join(SPARSE_SCRIPTS), SPARSE_COUNT,
                                                       SPARSE_GAP_S),
           '- reloads under load: wrk '
           '`/sleep.php?ms=20` with 16 connections, one signal every %.1f s (uWSGI: SIGHUP to '
           'its master)' % args.reload_interval,
           '- socket-activated cold start: the harness creates the listening socket, queues a '
           'request on it, then starts the backend with it as fd 3 (php-fpm: FPM_SOCKETS, '
           'php-pool: LISTEN_FDS); time from the fork to the response',
           '- cold-start floor: after each pair, Debian\'s php-cli (the same engine build as '
           'php-fpm) with the same php.ini and conf.d and opcache.enable_cli=1 runs hello.php; '
           'time from the fork to its output. No server can start PHP faster than that',
           '',
           '| script | connections | what |', '|---|---|---|']
    for name, url, lua, conns, _ in SCRIPTS:
        md.append('| %s | %d | %s (`%s`%s) |' % (name, conns, SCRIPT_NOTES[name], url,
                                                 ', ' + lua if lua else ''))
    md += ['', '## Results', '']
    hdr = '| script | figure | php-fpm | php-pool | ratio (median) | ratio min–max | target |'
    sep = '|---|---|---|---|---|---|---|'
    if peer:
        hdr += ' uwsgi | uwsgi / php-fpm (min–max) |'
        sep += '---|---|'
    md += [hdr, sep]
    unsupported = peer_status.get('unsupported', {})
    for g, m, label, a, b, r, lo, hi in rows:
        line = '| %s | %s | %s | %s | %s | %s | %s |' % (
            g, label, fmt(a, m), fmt(b, m) if b == b else '', '%.2f' % r if r == r else '',
            _spread(g, lo, hi), target_note(g, m, r))
        if peer:
            line += ' %s | %s |' % peer_cells(peer, g, m, unsupported)
        md.append(line)
    notes = peer_notes(peer_status)
    if notes:
        md += [''] + ['- ' + n for n in notes]
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
    ap.add_argument('--skip', default='', help='comma-separated phases or peers to skip: '
                    'load,memory,sparse,keepconn,startup,socket,ondemand,reload,uwsgi')
    ap.add_argument('--quick', action='store_true',
                    help='a development run: 1 round of 3 s, every phase but startup and ondemand '
                    'once, briefly (1 socket-activated start each, 2 reloads); nothing written')
    ap.add_argument('--no-write', action='store_true',
                    help='print only; do not write bench/RESULTS.md and bench/results.png')
    ap.add_argument('--keep-tmp', action='store_true')
    ap.add_argument('--uwsgi-opt', action='append', default=[], metavar='"KEY = VALUE"',
                    help='one more line for uWSGI\'s ini (repeatable), e.g. "thunder-lock = true"')
    ap.add_argument('--replot', metavar='FILE',
                    help='only redraw bench/results.png from the BENCH lines saved in FILE')
    args = ap.parse_args()
    if args.replot:
        rows, peer = rows_from_bench_lines(args.replot)
        plot(rows, os.path.join(HERE, 'results.png'), peer)
        return
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 3, 1
        args.startup_tries, args.reloads = 1, 2
        args.skip = args.skip + ',startup,ondemand'
        args.no_write = True
    skip = set(x for x in args.skip.split(',') if x)
    UWSGI_EXTRA.extend(args.uwsgi_opt)
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
    # uWSGI: the second peer, when installed (scripts/install-deps.sh installs it).
    peer_status = {'unsupported': {}}
    if 'uwsgi' in skip:
        peer_status['absent'] = 'skipped (--skip uwsgi)'
    elif uwsgi_available():
        peer_status['absent'] = uwsgi_available()
    with_uwsgi = 'absent' not in peer_status
    if not with_uwsgi:
        log('uwsgi: ' + peer_status['absent'])

    info = machine_info(args.pool_bin)
    log('machine: %d CPUs, %s, kernel %s; php-pool %s' % (info['nproc'], info['cpu'],
                                                          info['kernel'], args.pool_bin))
    # A SIGTERM (or SIGHUP from a closed terminal) unwinds like Ctrl-C: every process started
    # below is stopped by the finally clauses.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: sys.exit(128 + signum))
    tmp = tempfile.mkdtemp(prefix='php-pool-bench-')
    ini_dir = php_ini_dir(tmp)
    load = memory = startup = ondemand = reload = activated = keepconn = sparse = None
    started = []
    try:
        if not {'load', 'memory', 'keepconn'} <= skip:
            fpm = Backend('fpm', tmp, ini_dir, args.pool_bin)
            started.append(fpm)
            pool = Backend('pool', tmp, ini_dir, args.pool_bin)
            started.append(pool)
            backends = [fpm, pool]
            if with_uwsgi:
                uw = UwsgiBackend(tmp, ini_dir)
                started.append(uw)
                backends.append(uw)
            for b in backends:
                b.wait_ready()
                if not b.wait_workers():
                    raise RuntimeError('%s: fewer than %d workers' % (b.name, MAX_CHILDREN))
            nginxes = {}
            for b in backends:
                nginxes[b.kind] = Nginx(tmp, b.kind, b.socket, kind=b.kind)
                started.append(nginxes[b.kind])
            _, peer_status['unsupported'] = sanity(backends, nginxes)
            if 'load' not in skip:
                load = load_phase(tmp, backends, nginxes, scripts, args.rounds, args.duration,
                                  args.warmup, peer_status['unsupported'])
            if 'memory' not in skip:
                memory = memory_phase(tmp, backends, nginxes, peer_status['unsupported'])
                idle = idle_phase(backends)
                busy = busy_memory_phase(tmp, backends, nginxes, peer_status['unsupported'])
                for kind, figures in list(idle.items()) + list(busy.items()):
                    memory[kind].update(figures)
            if 'sparse' not in skip:
                sparse = sparse_phase(backends, nginxes, peer_status['unsupported'])
            if 'keepconn' not in skip:
                kc_backends = []
                for b in backends:
                    if b.kind == 'uwsgi' and not fcgi_keeps_conn(b):
                        peer_status['keepconn'] = ('it closes the FastCGI connection after every '
                                                   'response (FCGI_KEEP_CONN ignored)')
                        log('uwsgi: keep-conn phase skipped: ' + peer_status['keepconn'])
                        continue
                    kc_backends.append(b)
                kc_nginxes = {}
                for b in kc_backends:
                    kc_nginxes[b.kind] = Nginx(tmp, 'keepconn-' + b.kind, b.socket, kind=b.kind,
                                               keepconn=True)
                    started.append(kc_nginxes[b.kind])
                keepconn = keepconn_phase(tmp, kc_backends, kc_nginxes, args.rounds,
                                          args.duration, args.warmup)
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
                                  args.reload_interval, with_uwsgi)
    finally:
        for p in reversed(started):
            p.stop()
        if args.keep_tmp:
            log('kept %s' % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    rows, peer = summarize(load or {}, memory, startup, ondemand, reload, args.reloads, activated,
                           keepconn, sparse)
    table = render_table(rows, peer, peer_status['unsupported'])
    lines = bench_lines(rows, peer)
    print(table)
    notes = peer_notes(peer_status)
    if notes:
        print('\n'.join(notes))
    print()
    print('\n'.join(lines))
    if not args.no_write:
        have_plot = plot(rows, os.path.join(HERE, 'results.png'), peer)
        write_results_md(os.path.join(HERE, 'RESULTS.md'), rows, info, args, table, lines,
                         have_plot, peer, peer_status)
        log('wrote bench/RESULTS.md%s' % (' and bench/results.png' if have_plot else ''))


if __name__ == '__main__':
    main()
