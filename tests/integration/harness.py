"""Integration-test harness for php-pool (stdlib only).

Starts a PHP FastCGI backend (php-pool, or the real php-fpm 8.2 for comparison) and an nginx
in front of it, everything inside a fresh temporary directory, on loopback / unix sockets only.
Every process is stopped by its PID in teardown, also when a test fails.

Running by hand
---------------
From the source tree (no build needed for the php-fpm backend)::

    # one file, against the real php-fpm 8.2:
    PHP_POOL_BACKEND=fpm python3 tests/integration/test_http.py -v
    # one test:
    PHP_POOL_BACKEND=fpm python3 tests/integration/test_http.py -v HttpTest.test_get_query_string
    # one class:
    PHP_POOL_BACKEND=fpm python3 tests/integration/test_pm.py -v OndemandTest
    # against php-pool (the default backend):
    PHP_POOL_BIN=/tmp/build/src/php-pool python3 tests/integration/test_pm.py -v
    # every file at once:
    PHP_POOL_BACKEND=fpm python3 -m unittest discover -s tests/integration -p 'test_*.py'

Through meson: ``meson test -C BUILD --suite integration`` (or ``meson test -C BUILD
integration-http``); meson passes PHP_POOL_BIN and PHP_POOL_BACKEND=pool.

Files: test_http (requests/responses through nginx), test_errors (fatal errors, limits, crashes,
404/403), test_pm (ondemand/dynamic/max_requests), test_lifecycle (stop signals, fastcgi_keep_conn),
test_config (php_value/php_admin_value, env[], httpoxy), test_fastcgi (raw FastCGI, cgi-fcgi),
test_compat (php-fpm and the backend under test side by side), test_frontends (Apache
mod_proxy_fcgi and Caddy in front instead of nginx). PHP fixtures live in www/.
Tests that php-fpm itself fails, where DESIGN.md asks php-pool to do better, are skipped for fpm
with the reason.

Environment:
  PHP_POOL_BACKEND  fpm | pool (default pool)
  PHP_POOL_BIN      path of the php-pool binary (backend pool)
  PHP_FPM_BIN       path of php-fpm (default /usr/sbin/php-fpm8.2)
  PHP_POOL_KEEP_TMP=1  keep the temporary directories (their path is printed) for post-mortems
  PHP_POOL_SANITIZED=1  PHP_POOL_BIN is an ASan+UBSan build (meson -Dsanitizers=true): php-pool
                    runs with PHP_INI_SCAN_DIR empty (Debian's libphp dlopens shared extensions
                    with RTLD_DEEPBIND, which ASan refuses) and `sandbox.seccomp = off` (LeakSanitizer
                    needs ptrace at exit), the sanitizers log to files in the test's temp
                    directory (workers' stderr is /dev/null), and any report fails the test when
                    the backend stops.
"""

import hashlib
import http.client
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
WWW = os.path.join(HERE, 'www')
NGINX_BIN = shutil.which('nginx') or '/usr/sbin/nginx'
APACHE_BIN = shutil.which('apache2') or '/usr/sbin/apache2'
APACHE_MODULES = '/usr/lib/apache2/modules'
CADDY_BIN = shutil.which('caddy') or '/usr/bin/caddy'
FPM_BIN = os.environ.get('PHP_FPM_BIN', '/usr/sbin/php-fpm8.2')
CGI_FCGI_BIN = shutil.which('cgi-fcgi') or '/usr/bin/cgi-fcgi'
IS_ROOT = os.geteuid() == 0

# Settings given to both backends in the pool file, so that the results do not depend on which
# php.ini each SAPI reads (php-fpm: /etc/php/8.2/fpm/php.ini; php-pool: /etc/php/8.2/embed/php.ini;
# on Debian 12 both are copies of php.ini-production). php_admin_value: scripts cannot change them.
COMMON_PHP_ADMIN_VALUES = {
    'log_errors': 'On',
    'html_errors': 'Off',
    'error_reporting': 'E_ALL & ~E_DEPRECATED & ~E_STRICT',
    'memory_limit': '128M',
    'post_max_size': '64M',
    'upload_max_filesize': '32M',
    'max_file_uploads': '20',
    'max_execution_time': '30',
    'max_input_time': '60',
    'output_buffering': '4096',
    'expose_php': 'Off',
    'variables_order': 'GPCS',
    'default_charset': 'UTF-8',
    'date.timezone': 'UTC',
    'cgi.fix_pathinfo': '1',
}
# php_value: scripts may change these with ini_set() (fatal.php?display=1 does).
COMMON_PHP_VALUES = {
    'display_errors': 'Off',
    'display_startup_errors': 'Off',
}

SANITIZED = os.environ.get('PHP_POOL_SANITIZED') == '1'
SANITIZER_REPORT = re.compile(r'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|'
                              r'Sanitizer has encountered a fatal error|SUMMARY: \w+Sanitizer')

# Variables that must not leak from the test runner into the backends.
_SCRUB_ENV = ('LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'NOTIFY_SOCKET', 'WATCHDOG_USEC',
              'WATCHDOG_PID', 'JOURNAL_STREAM', 'INVOCATION_ID', 'PHPRC', 'PHP_INI_SCAN_DIR')


def require_tools(nginx=True, fpm=None):
    """Skip (not fail) when a front end or php-fpm is not installed; the php-pool binary itself
    is never skipped: a missing PHP_POOL_BIN is an error."""
    need = []
    if nginx:
        need.append(NGINX_BIN)
    if fpm or (fpm is None and backend_name() == 'fpm'):
        need.append(FPM_BIN)
    missing = [p for p in need if not os.access(p, os.X_OK)]
    if missing:
        raise unittest.SkipTest('not installed: %s' % ', '.join(missing))


def keep_tmp():
    return os.environ.get('PHP_POOL_KEEP_TMP') == '1'


def make_tmp(prefix='php-pool-it-'):
    tmp = tempfile.mkdtemp(prefix=prefix)
    if keep_tmp():
        sys.stderr.write('[harness] temp dir: %s\n' % tmp)
    return tmp


def remove_tmp(tmp):
    if not keep_tmp():
        shutil.rmtree(tmp, ignore_errors=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, interval=0.05, what='condition'):
    """Poll pred() until it returns a truthy value; return it, or raise AssertionError."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError('timed out after %.1fs waiting for %s (last: %r)' % (timeout, what, last))


def read_text(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')
    except FileNotFoundError:
        return ''


# ---------------------------------------------------------------------------------------------
# /proc helpers
# ---------------------------------------------------------------------------------------------

def _proc_stat(pid):
    """(ppid, starttime, state) of pid, or None when it is gone."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            data = f.read().decode('latin-1')
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may contain spaces/parentheses: split after the last ')'
    rest = data[data.rindex(')') + 2:].split()
    return int(rest[1]), int(rest[19]), rest[0]


def zombies_of(ppid):
    """Children of ppid that exited and were not reaped."""
    return [int(n) for n in os.listdir('/proc') if n.isdigit()
            and (lambda st: st is not None and st[0] == ppid and st[2] == 'Z')(_proc_stat(int(n)))]


def children_of(ppid):
    pids = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        st = _proc_stat(int(name))
        if st and st[0] == ppid and st[2] != 'Z':
            pids.append(int(name))
    return sorted(pids)


def pid_alive(pid):
    st = _proc_stat(pid)
    return st is not None and st[2] != 'Z'


class _Process:
    """A server process we started; stopped by PID (never by name)."""

    name = 'process'

    def __init__(self):
        self.proc = None
        self._known_children = {}  # pid -> starttime, to clean up orphans safely

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self._remember_children()
        self.proc.send_signal(sig)

    def worker_pids(self):
        """PIDs of the live (non-zombie) children of the main process."""
        if not self.alive():
            return []
        pids = children_of(self.proc.pid)
        self._remember_children(pids)
        return pids

    def _remember_children(self, pids=None):
        if self.proc is None:
            return
        for pid in (pids if pids is not None else children_of(self.proc.pid)):
            st = _proc_stat(pid)
            if st:
                self._known_children[pid] = st[1]

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=None, timeout=15):
        """Signal the main process, wait, SIGKILL as a fallback; then kill leftover children."""
        sig = sig or signal.SIGTERM
        if self.proc is None:
            return None
        self._remember_children()
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            if self.wait_exit(timeout) is None:
                self.proc.kill()
                self.proc.wait(10)
        # children that outlived their parent (same pid *and* start time: not a reused pid)
        for pid, start in self._known_children.items():
            st = _proc_stat(pid)
            if st and st[1] == start and st[2] != 'Z':
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return self.proc.returncode


# ---------------------------------------------------------------------------------------------
# PHP backends
# ---------------------------------------------------------------------------------------------

def render_ini_block(settings, kind='php_admin_value'):
    return ''.join('%s[%s] = %s\n' % (kind, k, v) for k, v in settings.items())


class _Backend(_Process):
    kind = None
    pool_name = 'www'

    def __init__(self, tmp, pool_ini_text, common_ini=True, extra_env=None, ini_args=(),
                 global_ini_text='', start_timeout=20):
        super().__init__()
        self.tmp = tmp
        self.global_ini_text = global_ini_text.strip('\n')
        self.socket_path = os.path.join(tmp, 'php.sock')
        self.conf_path = os.path.join(tmp, 'pool.conf')
        self.log_path = os.path.join(tmp, 'backend.log')
        self.upload_dir = os.path.join(tmp, 'uploads')
        os.makedirs(self.upload_dir, exist_ok=True)
        pool = ['[%s]' % self.pool_name, 'listen = %s' % self.socket_path]
        if common_ini:
            # keys the test's own pool text sets are left out of the common block
            own = set(re.findall(r'^\s*php_(?:admin_)?(?:value|flag)\[([^\]]+)\]', pool_ini_text,
                                 re.M))
            admin = dict(COMMON_PHP_ADMIN_VALUES)
            admin['upload_tmp_dir'] = self.upload_dir
            admin['session.save_path'] = tmp
            admin['sys_temp_dir'] = tmp
            pool.append(render_ini_block({k: v for k, v in admin.items() if k not in own},
                                         'php_admin_value'))
            pool.append(render_ini_block({k: v for k, v in COMMON_PHP_VALUES.items()
                                          if k not in own}, 'php_value'))
        pool.extend(self._extra_pool_lines())  # before the test's own text, which wins
        pool.append(pool_ini_text.strip('\n'))
        self.pool_text = '\n'.join(pool) + '\n'
        with open(self.conf_path, 'w') as f:
            f.write(self._global_section() + self.pool_text)
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB_ENV}
        # never reach the machine's system bus: php-pool must just warn and keep serving
        env['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=%s' % os.path.join(tmp, 'no-such-bus')
        env.update(self._extra_env())
        env.update(extra_env or {})
        self.env = env
        self.log_file = open(self.log_path + '.stdio', 'ab')
        self.proc = subprocess.Popen(self._argv(list(ini_args)), env=env, cwd=tmp,
                                     stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready(start_timeout)
        except BaseException:
            self.stop()
            raise

    def _global_section(self):
        if not self.global_ini_text:
            return ''
        return '[global]\n%s\n\n' % self.global_ini_text

    def _argv(self, ini_args):
        raise NotImplementedError

    def _extra_pool_lines(self):
        return []

    def _extra_env(self):
        return {}

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('%s exited with %s during start-up; log:\n%s'
                                   % (self.kind, self.proc.returncode, self.log_text()))
            if os.path.exists(self.socket_path):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(self.socket_path)
                    return
                except OSError:
                    pass
                finally:
                    s.close()
            time.sleep(0.02)
        raise RuntimeError('%s did not accept on %s within %ss; log:\n%s'
                           % (self.kind, self.socket_path, timeout, self.log_text()))

    def log_text(self):
        return read_text(self.log_path) + read_text(self.log_path + '.stdio')

    def stop(self, sig=signal.SIGTERM, timeout=15):
        try:
            return super().stop(sig, timeout)
        finally:
            if not self.log_file.closed:
                self.log_file.close()


class PhpFpm(_Backend):
    """The real php-fpm 8.2, in the foreground (-F), global pid/error_log in tmp."""

    kind = 'fpm'

    def _global_section(self):
        return ('[global]\npid = %s\nerror_log = %s\nlog_level = notice\ndaemonize = no\n%s\n\n'
                % (os.path.join(self.tmp, 'fpm.pid'), self.log_path, self.global_ini_text))

    def _argv(self, ini_args):
        return [FPM_BIN, '-F', '-R', '-y', self.conf_path] + ini_args


class PhpPool(_Backend):
    """php-pool in the foreground; its stderr is the log (captured to a file in tmp)."""

    kind = 'pool'

    def __init__(self, tmp, pool_ini_text, binary=None, **kw):
        self.binary = binary or os.environ.get('PHP_POOL_BIN')
        if not self.binary or not os.access(self.binary, os.X_OK):
            raise RuntimeError('php-pool binary not found: set PHP_POOL_BIN (got %r)' % self.binary)
        super().__init__(tmp, pool_ini_text, **kw)

    def _argv(self, ini_args):
        return [self.binary, '--config', self.conf_path, '-R'] + ini_args

    def _extra_pool_lines(self):
        return ['sandbox.seccomp = off'] if SANITIZED else []

    def _extra_env(self):
        if not SANITIZED:
            return {}
        log = 'log_path=%s' % os.path.join(self.tmp, 'sanitizer')
        env = {'PHP_INI_SCAN_DIR': ''}
        for name in ('ASAN_OPTIONS', 'UBSAN_OPTIONS'):
            env[name] = ':'.join(filter(None, [os.environ.get(name, ''), log]))
        return env

    def sanitizer_reports(self):
        """The sanitizers' reports (PHP_POOL_SANITIZED=1), one log_path file per process."""
        reports = []
        if SANITIZED:
            for name in sorted(os.listdir(self.tmp)):
                if name.startswith('sanitizer.'):
                    text = read_text(os.path.join(self.tmp, name))
                    if SANITIZER_REPORT.search(text):
                        reports.append('--- %s\n%s' % (name, text))
        return reports

    def log_text(self):
        return super().log_text() + ''.join(self.sanitizer_reports())

    def stop(self, sig=signal.SIGTERM, timeout=15):
        rc = super().stop(sig, timeout)
        reports = self.sanitizer_reports()
        if reports:
            raise AssertionError('sanitizer reports from php-pool:\n' + '\n'.join(reports))
        return rc


def backend_name():
    name = os.environ.get('PHP_POOL_BACKEND', 'pool')
    if name not in ('fpm', 'pool'):
        raise RuntimeError('PHP_POOL_BACKEND must be fpm or pool, not %r' % name)
    return name


def backend_factory(name=None):
    """The backend class chosen by PHP_POOL_BACKEND (fpm|pool, default pool)."""
    return {'fpm': PhpFpm, 'pool': PhpPool}[name or backend_name()]


def is_fpm():
    return backend_name() == 'fpm'


# ---------------------------------------------------------------------------------------------
# nginx
# ---------------------------------------------------------------------------------------------

NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
master_process on;
pid {tmp}/nginx.pid;
lock_file {tmp}/nginx.lock;
error_log {tmp}/nginx-error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {tmp}/nginx-temp/body;
    proxy_temp_path {tmp}/nginx-temp/proxy;
    fastcgi_temp_path {tmp}/nginx-temp/fastcgi;
    uwsgi_temp_path {tmp}/nginx-temp/uwsgi;
    scgi_temp_path {tmp}/nginx-temp/scgi;
    default_type text/plain;
    client_max_body_size 64m;
    server_tokens off;
{upstream}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {docroot};
        location ~ [^/]\\.php(/|$) {{
{fastcgi}
        }}
{extra}
    }}
}}
"""

FASTCGI_BLOCK = """\
            fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
            # try_files would reset $fastcgi_path_info (nginx ticket 321)
            set $path_info $fastcgi_path_info;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_param PATH_INFO $path_info;
            fastcgi_index index.php;
            fastcgi_read_timeout 60s;
            fastcgi_pass {target};
{keep}"""


class Nginx(_Process):
    name = 'nginx'

    def __init__(self, tmp, fastcgi_socket, docroot=WWW, keep_conn=False, extra='',
                 start_timeout=10):
        super().__init__()
        self.tmp = tmp
        self.socket = fastcgi_socket
        self.docroot = docroot
        self.keep_conn = keep_conn
        self.error_log_path = os.path.join(tmp, 'nginx-error.log')
        os.makedirs(os.path.join(tmp, 'nginx-temp'), exist_ok=True)
        last_err = None
        for _attempt in range(3):  # a free port can be taken between probing and binding
            self.port = free_port()
            self._write_conf(extra)
            self.stdio = open(os.path.join(tmp, 'nginx-stdio.log'), 'ab')
            self.proc = subprocess.Popen(
                [NGINX_BIN, '-c', self.conf_path, '-p', tmp + '/', '-e', self.error_log_path],
                stdin=subprocess.DEVNULL, stdout=self.stdio, stderr=subprocess.STDOUT,
                start_new_session=True)
            try:
                self._wait_ready(start_timeout)
                return
            except RuntimeError as e:
                last_err = e
                self.stop()
                if 'Address already in use' not in str(e):
                    break
        raise last_err

    def fastcgi_block(self, target=None):
        """The location body used for .php; reusable in `extra` locations (e.g. for .txt)."""
        if target is None:
            target = 'php_backend' if self.keep_conn else 'unix:%s' % self.socket
        keep = '            fastcgi_keep_conn on;\n' if self.keep_conn else ''
        return FASTCGI_BLOCK.format(target=target, keep=keep)

    def _write_conf(self, extra):
        self.conf_path = os.path.join(self.tmp, 'nginx.conf')
        upstream = ''
        if self.keep_conn:
            upstream = ('    upstream php_backend {\n        server unix:%s;\n        keepalive 8;\n'
                        '    }\n' % self.socket)
        if callable(extra):
            extra = extra(self)
        conf = NGINX_CONF.format(user='user root root;\n' if IS_ROOT else '', tmp=self.tmp,
                                 port=self.port, docroot=self.docroot, upstream=upstream,
                                 fastcgi=self.fastcgi_block(), extra=extra)
        with open(self.conf_path, 'w') as f:
            f.write(conf)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('nginx exited with %s; log:\n%s'
                                   % (self.proc.returncode, self.error_log_text()
                                      + read_text(os.path.join(self.tmp, 'nginx-stdio.log'))))
            try:
                with socket.create_connection(('127.0.0.1', self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError('nginx did not answer on port %d; log:\n%s'
                           % (self.port, self.error_log_text()))

    def error_log_text(self):
        return read_text(self.error_log_path)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        try:
            return super().stop(sig, timeout)
        finally:
            if not self.stdio.closed:
                self.stdio.close()

    def request(self, method, path, headers=None, body=None, timeout=60):
        return request(self.port, method, path, headers, body, timeout)


# ---------------------------------------------------------------------------------------------
# Apache (mod_proxy_fcgi) and Caddy (php_fastcgi): other front ends, same request() interface
# ---------------------------------------------------------------------------------------------

APACHE_CONF = """\
ServerRoot {tmp}
ServerName localhost
Listen 127.0.0.1:{port}
PidFile {tmp}/apache.pid
DefaultRuntimeDir {tmp}/apache-run
Mutex file:{tmp}/apache-run default
ErrorLog {tmp}/apache-error.log
LogLevel warn
{user}
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule dir_module {modules}/mod_dir.so
LoadModule mime_module {modules}/mod_mime.so
LoadModule proxy_module {modules}/mod_proxy.so
LoadModule proxy_fcgi_module {modules}/mod_proxy_fcgi.so
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
Timeout 60
ServerTokens Prod
ServerSignature Off
TypesConfig /etc/mime.types
LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
CustomLog {tmp}/apache-access.log common
DocumentRoot {docroot}
DirectoryIndex index.php index.html
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory {docroot}>
    AllowOverride None
    Require all granted
</Directory>
{fastcgi}
"""

# The two ways of handing .php to a FastCGI socket with mod_proxy_fcgi (Apache >= 2.4.10).
APACHE_HANDLER = """\
# Apache maps the URL to the file itself: SCRIPT_FILENAME is proxy:fcgi://localhost + the
# file's path, PATH_INFO is set.
<FilesMatch "\\.php$">
    SetHandler "proxy:unix:{socket}|fcgi://localhost"
</FilesMatch>
"""
APACHE_PROXYPASS = """\
# The URL is proxied as is: SCRIPT_FILENAME is "proxy:fcgi://localhost/DOCROOT/x.php/path/info",
# no PATH_INFO, SCRIPT_NAME includes the path info; the backend splits them (cgi.fix_pathinfo).
ProxyPassMatch "^/(.*\\.php(/.*)?)$" "unix:{socket}|fcgi://localhost{docroot}/$1"
"""


class _FrontEnd(_Process):
    """A web server on 127.0.0.1:PORT in front of a FastCGI unix socket (subclasses: Apache,
    Caddy). Same interface as Nginx: .port, .request(), .error_log_text(), .stop()."""

    binary = None
    bind_error = 'address already in use'

    def __init__(self, tmp, fastcgi_socket, docroot=WWW, start_timeout=10):
        super().__init__()
        self.tmp = tmp
        self.socket = fastcgi_socket
        self.docroot = docroot
        self.stdio_path = os.path.join(tmp, '%s-stdio.log' % self.name)
        self.stdio = None
        last_err = None
        for _attempt in range(3):  # a free port can be taken between probing and binding
            self.port = free_port()
            self.conf_path = self._write_conf()
            self.stdio = open(self.stdio_path, 'ab')
            self.proc = subprocess.Popen(self._argv(), env=self._env(), cwd=tmp,
                                         stdin=subprocess.DEVNULL, stdout=self.stdio,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            try:
                self._wait_ready(start_timeout)
                return
            except RuntimeError as e:
                last_err = e
                self.stop()
                if self.bind_error not in str(e).lower():
                    break
        raise last_err

    def _write_conf(self):
        raise NotImplementedError

    def _argv(self):
        raise NotImplementedError

    def _env(self):
        return {k: v for k, v in os.environ.items() if k not in _SCRUB_ENV}

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('%s exited with %s; log:\n%s'
                                   % (self.name, self.proc.returncode, self.error_log_text()))
            try:
                with socket.create_connection(('127.0.0.1', self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError('%s did not answer on port %d; log:\n%s'
                           % (self.name, self.port, self.error_log_text()))

    def error_log_text(self):
        return read_text(self.stdio_path)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        try:
            return super().stop(sig, timeout)
        finally:
            if self.stdio is not None and not self.stdio.closed:
                self.stdio.close()

    def request(self, method, path, headers=None, body=None, timeout=60):
        return request(self.port, method, path, headers, body, timeout)


class Apache(_FrontEnd):
    """Debian's apache2 with mod_proxy_fcgi, from its own apache2.conf in tmp (no a2enmod, no
    /etc/apache2), in the foreground (-DFOREGROUND). mode='handler': SetHandler
    "proxy:unix:SOCK|fcgi://localhost" in a <FilesMatch \\.php$>; mode='proxypass':
    ProxyPassMatch ^/(.*\\.php(/.*)?)$ unix:SOCK|fcgi://localhost/DOCROOT/$1.

    Run as root, Apache's children switch to www-data: the FastCGI socket must then be
    reachable by www-data (listen.mode = 0666 in the pool file); tmp is made traversable
    (0711) here."""

    name = 'apache'
    binary = APACHE_BIN

    def __init__(self, tmp, fastcgi_socket, docroot=WWW, mode='handler', **kw):
        if mode not in ('handler', 'proxypass'):
            raise ValueError('Apache mode must be handler or proxypass, not %r' % mode)
        self.mode = mode
        self.error_log_path = os.path.join(tmp, 'apache-error.log')
        os.makedirs(os.path.join(tmp, 'apache-run'), exist_ok=True)
        if IS_ROOT:
            os.chmod(tmp, 0o711)
        super().__init__(tmp, fastcgi_socket, docroot, **kw)

    def fastcgi_block(self):
        block = APACHE_HANDLER if self.mode == 'handler' else APACHE_PROXYPASS
        return block.format(socket=self.socket, docroot=self.docroot.rstrip('/'))

    def _write_conf(self):
        path = os.path.join(self.tmp, 'apache2.conf')
        user = 'User www-data\nGroup www-data' if IS_ROOT else ''
        with open(path, 'w') as f:
            f.write(APACHE_CONF.format(tmp=self.tmp, port=self.port, user=user,
                                       modules=APACHE_MODULES, docroot=self.docroot.rstrip('/'),
                                       fastcgi=self.fastcgi_block()))
        return path

    def _argv(self):
        return [self.binary, '-f', self.conf_path, '-DFOREGROUND']

    def _env(self):
        env = super()._env()
        # what Debian's /etc/apache2/envvars would set (this config does not use them)
        run = os.path.join(self.tmp, 'apache-run')
        env.update({'APACHE_RUN_DIR': run, 'APACHE_PID_FILE': os.path.join(self.tmp, 'apache.pid'),
                    'APACHE_LOCK_DIR': run, 'APACHE_LOG_DIR': self.tmp,
                    'APACHE_RUN_USER': 'www-data', 'APACHE_RUN_GROUP': 'www-data',
                    'LANG': 'C'})
        return env

    def error_log_text(self):
        return read_text(self.error_log_path) + read_text(self.stdio_path)


CADDYFILE = """\
{{
	admin off
	auto_https off
	grace_period 2s
	storage file_system {tmp}/caddy-data
}}

http://127.0.0.1:{port} {{
	root * {docroot}
	php_fastcgi unix/{socket}
	file_server
}}
"""


class Caddy(_FrontEnd):
    """Debian's caddy (2.6) with php_fastcgi (which splits PATH_INFO at ".php" itself and
    tries {path}, {path}/index.php, index.php), `caddy run` in the foreground; HOME and the XDG
    directories point into tmp. Its log (including PHP's FCGI_STDERR) is its stderr."""

    name = 'caddy'
    binary = CADDY_BIN

    def _write_conf(self):
        path = os.path.join(self.tmp, 'Caddyfile')
        with open(path, 'w') as f:
            f.write(CADDYFILE.format(tmp=self.tmp, port=self.port,
                                     docroot=self.docroot.rstrip('/'), socket=self.socket))
        return path

    def _argv(self):
        return [self.binary, 'run', '--config', self.conf_path, '--adapter', 'caddyfile']

    def _env(self):
        env = super()._env()
        home = os.path.join(self.tmp, 'caddy-home')
        for d in ('', 'data', 'config'):
            os.makedirs(os.path.join(home, d), exist_ok=True)
        env.update({'HOME': home, 'XDG_DATA_HOME': os.path.join(home, 'data'),
                    'XDG_CONFIG_HOME': os.path.join(home, 'config')})
        return env


class Response:
    def __init__(self, status, reason, headers, body, elapsed):
        self.status = status
        self.reason = reason
        self.headers = headers  # http.client.HTTPMessage: .get(), .get_all()
        self.body = body
        self.elapsed = elapsed

    @property
    def text(self):
        return self.body.decode('utf-8', 'replace')

    def json(self):
        import json
        return json.loads(self.body)

    def __iter__(self):  # allows: status, headers, body = request(...)
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        return '<Response %d %r>' % (self.status, self.body[:200])


def request(port, method, path, headers=None, body=None, timeout=60):
    """One HTTP/1.1 request to nginx on 127.0.0.1:port → Response (status, headers, body)."""
    t0 = time.monotonic()
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.reason, resp.msg, data, time.monotonic() - t0)
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# A small raw FastCGI client
# ---------------------------------------------------------------------------------------------

FCGI_BEGIN_REQUEST, FCGI_ABORT_REQUEST, FCGI_END_REQUEST = 1, 2, 3
FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT, FCGI_STDERR = 4, 5, 6, 7
FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT = 9, 10
FCGI_RESPONDER = 1
FCGI_KEEP_CONN = 1


def _fcgi_record(rtype, req_id, content=b''):
    out = b''
    # split into <= 65535-byte records (an empty record is sent when content is empty)
    chunks = [content[i:i + 65535] for i in range(0, len(content), 65535)] or [b'']
    for chunk in chunks:
        pad = (8 - len(chunk) % 8) % 8
        out += struct.pack('!BBHHBB', 1, rtype, req_id, len(chunk), pad, 0) + chunk + b'\0' * pad
    return out


def _fcgi_len(n):
    return struct.pack('!B', n) if n < 128 else struct.pack('!I', n | 0x80000000)


def fcgi_encode_params(params):
    """A dict, or a list of (name, value) pairs (a name may repeat, as nginx repeats a
    fastcgi_param given twice)."""
    out = b''
    for k, v in (params.items() if hasattr(params, 'items') else params):
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out += _fcgi_len(len(k)) + _fcgi_len(len(v)) + k + v
    return out


def fcgi_decode_params(data):
    out, i = {}, 0

    def ln():
        nonlocal i
        if data[i] < 128:
            i += 1
            return data[i - 1]
        n = struct.unpack('!I', data[i:i + 4])[0] & 0x7fffffff
        i += 4
        return n

    while i < len(data):
        kl, vl = ln(), ln()
        out[data[i:i + kl].decode()] = data[i + kl:i + kl + vl].decode()
        i += kl + vl
    return out


def _recv_exact(sock, n):
    buf = b''
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError('FastCGI connection closed after %d of %d bytes' % (len(buf), n))
        buf += chunk
    return buf


def fcgi_read_record(sock):
    hdr = _recv_exact(sock, 8)
    _ver, rtype, req_id, clen, plen, _ = struct.unpack('!BBHHBB', hdr)
    content = _recv_exact(sock, clen + plen)[:clen]
    return rtype, req_id, content


class FcgiConnection:
    """A FastCGI connection; several requests may use it when keep_conn=True."""

    def __init__(self, sock_path, timeout=30):
        # a unix socket path, or (host, port) for TCP
        if isinstance(sock_path, tuple):
            family = socket.AF_INET6 if ':' in sock_path[0] else socket.AF_INET
            self.sock = socket.socket(family, socket.SOCK_STREAM)
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(sock_path)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def request(self, params, stdin=b'', keep_conn=False, req_id=1):
        """→ (stdout_bytes, stderr_bytes, app_status)"""
        self.send(params, stdin, keep_conn, req_id)
        return self.receive(req_id)

    def send(self, params, stdin=b'', keep_conn=False, req_id=1):
        flags = FCGI_KEEP_CONN if keep_conn else 0
        msg = _fcgi_record(FCGI_BEGIN_REQUEST, req_id, struct.pack('!HB5x', FCGI_RESPONDER, flags))
        if params:
            msg += _fcgi_record(FCGI_PARAMS, req_id, fcgi_encode_params(params))
        msg += _fcgi_record(FCGI_PARAMS, req_id)
        if stdin:
            msg += _fcgi_record(FCGI_STDIN, req_id, stdin)
        msg += _fcgi_record(FCGI_STDIN, req_id)
        self.sock.sendall(msg)

    def receive(self, req_id=1):
        """The response to send()'s request → (stdout_bytes, stderr_bytes, app_status)"""
        out, err = [], []
        self.records = []  # (type, content) of every record of this response, in order
        while True:
            rtype, rid, content = fcgi_read_record(self.sock)
            if rid != req_id:
                continue
            self.records.append((rtype, content))
            if rtype == FCGI_STDOUT:
                out.append(content)
            elif rtype == FCGI_STDERR:
                err.append(content)
            elif rtype == FCGI_END_REQUEST:
                app_status, _proto = struct.unpack('!IB3x', content)
                return b''.join(out), b''.join(err), app_status

    def get_values(self, names):
        self.sock.sendall(_fcgi_record(FCGI_GET_VALUES, 0,
                                       fcgi_encode_params({n: '' for n in names})))
        rtype, _rid, content = fcgi_read_record(self.sock)
        assert rtype == FCGI_GET_VALUES_RESULT, rtype
        return fcgi_decode_params(content)


def fcgi_request(sock_path, params, stdin=b'', timeout=30):
    """One FastCGI request on a fresh connection → (stdout_bytes, stderr_bytes, app_status)."""
    with FcgiConnection(sock_path, timeout) as c:
        return c.request(params, stdin)


def php_params(script, docroot=WWW, method='GET', query='', extra=None, body=b''):
    """A CGI parameter set like nginx's for DOCROOT/script."""
    p = {
        'GATEWAY_INTERFACE': 'CGI/1.1',
        'SERVER_SOFTWARE': 'harness',
        'SERVER_PROTOCOL': 'HTTP/1.1',
        'SERVER_NAME': 'localhost',
        'SERVER_ADDR': '127.0.0.1',
        'SERVER_PORT': '80',
        'REMOTE_ADDR': '127.0.0.1',
        'REMOTE_PORT': '40000',
        'REQUEST_METHOD': method,
        'REQUEST_SCHEME': 'http',
        'QUERY_STRING': query,
        'SCRIPT_NAME': '/' + script,
        'SCRIPT_FILENAME': os.path.join(docroot, script),
        'DOCUMENT_ROOT': docroot,
        'DOCUMENT_URI': '/' + script,
        'REQUEST_URI': '/' + script + ('?' + query if query else ''),
        'REDIRECT_STATUS': '200',
        'HTTP_HOST': 'localhost',
        'CONTENT_TYPE': '',
        'CONTENT_LENGTH': str(len(body)) if body else '',
    }
    p.update(extra or {})
    return p


def parse_cgi_response(raw):
    """Split a CGI response (as sent on FCGI_STDOUT) → (status:int, headers:list, body:bytes)."""
    sep = raw.find(b'\r\n\r\n')
    seplen = 4
    if sep < 0:
        sep, seplen = raw.find(b'\n\n'), 2
    head, body = raw[:sep], raw[sep + seplen:]
    headers, status = [], 200
    for line in head.decode('latin-1').splitlines():
        if not line.strip():
            continue
        k, _, v = line.partition(':')
        k, v = k.strip(), v.strip()
        if k.lower() == 'status':
            status = int(v.split()[0])
        headers.append((k, v))
    return status, headers, body


def cgi_fcgi(sock_path, params, stdin=b'', timeout=30):
    """Run one request with libfcgi's cgi-fcgi -bind -connect SOCK → (returncode, stdout)."""
    env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin')}
    env.update(params)
    r = subprocess.run([CGI_FCGI_BIN, '-bind', '-connect', sock_path], input=stdin, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


# ---------------------------------------------------------------------------------------------
# Test-case base class: one backend + nginx per class
# ---------------------------------------------------------------------------------------------

def md5(data):
    return hashlib.md5(data).hexdigest()


def multipart(fields=(), files=()):
    """Encode multipart/form-data. fields: [(name, value)], files: [(field, filename, bytes,
    content_type)] → (body, content_type header value)."""
    boundary = '----php-pool-it-%s' % md5(os.urandom(16))
    parts = []
    for name, value in fields:
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n'
                      % (boundary, name)).encode() + value.encode() + b'\r\n')
    for field, filename, data, ctype in files:
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                      'Content-Type: %s\r\n\r\n' % (boundary, field, filename, ctype)).encode()
                     + data + b'\r\n')
    body = b''.join(parts) + ('--%s--\r\n' % boundary).encode()
    return body, 'multipart/form-data; boundary=%s' % boundary


class StackTestCase(unittest.TestCase):
    """Starts one backend (chosen by PHP_POOL_BACKEND) and one nginx for the whole class.

    Subclasses set POOL_INI (pool directives without section/listen), and optionally
    KEEP_CONN, NGINX_EXTRA (a string or a callable(nginx) → string), BACKEND_ENV.
    """

    POOL_INI = 'pm = static\npm.max_children = 2\n'
    KEEP_CONN = False
    NGINX_EXTRA = ''
    BACKEND_ENV = None
    BACKEND_INI_ARGS = ()

    @classmethod
    def setUpClass(cls):
        require_tools()
        cls.tmp = make_tmp()
        cls.backend = None
        cls.nginx = None
        try:
            cls.backend = cls.start_backend()
            cls.nginx = Nginx(cls.tmp, cls.backend.socket_path, WWW, keep_conn=cls.KEEP_CONN,
                              extra=cls.NGINX_EXTRA)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_backend(cls):
        return backend_factory()(cls.tmp, cls.POOL_INI, extra_env=cls.BACKEND_ENV,
                                 ini_args=cls.BACKEND_INI_ARGS)

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.nginx is not None:
                cls.nginx.stop()
        finally:
            try:
                if cls.backend is not None:
                    cls.backend.stop()
            finally:
                remove_tmp(cls.tmp)

    def get(self, path, headers=None, **kw):
        return self.nginx.request('GET', path, headers, **kw)

    def req(self, method, path, headers=None, body=None, **kw):
        return self.nginx.request(method, path, headers, body, **kw)

    def logs(self):
        """Backend log + nginx error log (PHP messages sent on FCGI_STDERR land in the latter)."""
        return self.backend.log_text() + '\n' + self.nginx.error_log_text()

    def assertEventuallyIn(self, needle, logs_fn=None, timeout=5):
        logs_fn = logs_fn or self.logs
        try:
            wait_until(lambda: needle in logs_fn(), timeout, what=repr(needle) + ' in logs')
        except AssertionError:
            self.fail('%r not found in logs:\n%s' % (needle, logs_fn()[-4000:]))


class BackendTestCase(unittest.TestCase):
    """One backend for the whole class, no nginx: for tests that speak FastCGI directly."""

    POOL_INI = 'pm = static\npm.max_children = 2\n'
    BACKEND_ENV = None

    @classmethod
    def setUpClass(cls):
        require_tools(nginx=False)
        cls.tmp = make_tmp()
        cls.backend = None
        try:
            cls.backend = backend_factory()(cls.tmp, cls.POOL_INI, extra_env=cls.BACKEND_ENV)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.backend is not None:
                cls.backend.stop()
        finally:
            remove_tmp(cls.tmp)


def main():
    unittest.main(verbosity=2)
