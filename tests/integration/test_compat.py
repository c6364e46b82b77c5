"""Side by side: the same scripts through php-fpm 8.2 and through the backend under test
(PHP_POOL_BACKEND; with fpm this compares php-fpm with itself, which checks that the
normalisation below removes all run-to-run noise), behind identical nginx configurations, with
identical pool files. Status, headers and bodies must be equal.

What may differ, and why (everything else must be byte-equal after the substitutions):
- response headers Date (clock), Server (both "nginx"; dropped anyway), Connection,
  Transfer-Encoding and Content-Length (nginx picks chunked or a length depending on how the
  backend framed the response; the body is compared anyway);
- the temporary directory of each stack (socket path, upload_tmp_dir, ...) → "TMP", and each
  nginx's port (SERVER_PORT, Host) → "PORT";
- $_SERVER keys (var_export($_SERVER) of www/server.php):
    REQUEST_TIME, REQUEST_TIME_FLOAT   the clock at the start of each request;
    REMOTE_PORT                        the ephemeral port of nginx's client-side connection.
  With clear_env = yes (the default, used here) and no `user =` (the tests run as root with -R)
  php-fpm puts no environment variables into $_SERVER, so there is no USER/HOME/PATH to except;
  FCGI_ROLE, REDIRECT_STATUS, PATH_INFO (empty) and PHP_SELF are compared like the others;
- JSON bodies of www/info.php: "pid" (worker pids) and files[].tmp_name (random names).
"""

import json
import re
import unittest
import urllib.parse

import harness
from harness import Nginx, PhpFpm, WWW, backend_factory, make_tmp, multipart, remove_tmp

POOL_INI = ('pm = static\npm.max_children = 2\n'
            'request_terminate_timeout = 5s\n'
            'env[POOL_FOO] = bar\n'
            'php_value[user_agent] = compat-ua\n'
            'php_admin_value[default_socket_timeout] = 7\n'
            'php_admin_value[memory_limit] = 32M\n')

IGNORED_HEADERS = {'date', 'server', 'connection', 'transfer-encoding', 'content-length',
                   'keep-alive'}
IGNORED_SERVER_KEYS = {'REQUEST_TIME', 'REQUEST_TIME_FLOAT', 'REMOTE_PORT'}


def nginx_extra(ng):
    return '        location ~ \\.txt$ {\n%s        }\n' % ng.fastcgi_block()


def parse_var_export(text):
    """var_export() of a flat array → {key: exported value text}."""
    out, key = {}, None
    for line in text.splitlines()[1:-1]:  # 'array (' ... ')'
        m = re.match(r"^  '((?:[^'\\]|\\.)*)' => (.*)$", line)
        if m:
            key = m.group(1)
            out[key] = m.group(2)
        elif key is not None:
            out[key] += '\n' + line
    return out


class Stack:
    def __init__(self, cls, name):
        self.tmp = make_tmp('php-pool-compat-%s-' % name)
        self.backend = self.nginx = None
        try:
            self.backend = cls(self.tmp, POOL_INI, extra_env={'RUNNER_LEAK': 'x'})
            self.nginx = Nginx(self.tmp, self.backend.socket_path, WWW, extra=nginx_extra)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        try:
            if self.nginx:
                self.nginx.stop()
        finally:
            try:
                if self.backend:
                    self.backend.stop()
            finally:
                remove_tmp(self.tmp)

    def normalise_text(self, text):
        text = text.replace(self.tmp, 'TMP')
        return re.sub(r'\b%d\b' % self.nginx.port, 'PORT', text)

    def fetch(self, method, path, headers=None, body=None):
        r = self.nginx.request(method, path, headers, body)
        hdrs = sorted(((k.lower(), self.normalise_text(v)) for k, v in r.headers.items()
                       if k.lower() not in IGNORED_HEADERS), key=lambda kv: kv[0])
        text = self.normalise_text(r.body.decode('utf-8', 'replace'))
        ctype = r.headers.get('Content-Type') or ''
        if path.startswith('/server.php'):
            server = parse_var_export(text)
            for k in IGNORED_SERVER_KEYS:
                server.pop(k, None)
            text = '\n'.join('%s => %s' % kv for kv in sorted(server.items()))
        elif ctype == 'application/json' and path.startswith('/info.php'):
            j = json.loads(text)
            j.pop('pid', None)
            for f in j.get('files', []):
                f.pop('tmp_name', None)
            text = json.dumps(j, indent=1, sort_keys=True)
        return r.status, hdrs, text


def requests():
    """(label, method, path, headers, body)"""
    form = b'a=1&b[]=2&b[]=3&s=h%C3%A9llo+world'
    up_body, up_type = multipart([('title', 'x')],
                                 [('f1', 'one.bin', bytes(range(256)) * 40, 'application/x-one'),
                                  ('many[]', 'two.txt', b'two\n' * 1000, 'text/plain'),
                                  ('many[]', 'three.txt', b'', 'text/plain')])
    big = bytes(range(256)) * 4096  # 1 MiB
    hdrs = {'X-Custom': 'v1', 'Cookie': 'a=1; b=two', 'User-Agent': 'compat/1',
            'Accept-Language': 'de', 'Proxy': 'http://evil.invalid'}
    return [
        ('server GET', 'GET', '/server.php?a=1&b=%20x', hdrs, None),
        ('server PATH_INFO', 'GET', '/server.php/p/a/t/h?q', hdrs, None),
        ('server POST form', 'POST', '/server.php?x=y',
         {'Content-Type': 'application/x-www-form-urlencoded'}, form),
        ('server HEAD', 'HEAD', '/server.php', None, None),
        ('info GET', 'GET', '/info.php?a[]=1&a[k]=2', hdrs, None),
        ('info POST form', 'POST', '/info.php', {'Content-Type':
                                                 'application/x-www-form-urlencoded'}, form),
        ('info PUT', 'PUT', '/info.php/r', {'Content-Type': 'application/octet-stream'}, big),
        ('info multipart', 'POST', '/info.php', {'Content-Type': up_type}, up_body),
        ('status 418 + headers', 'GET', '/status.php?code=418&h[X-A]=1&multi=1&cookie=c', None,
         None),
        ('status via header line', 'GET', '/status.php?' + urllib.parse.urlencode(
            {'raw': 'HTTP/1.0 410 Gone'}), None, None),
        ('redirect', 'GET', '/redirect.php', None, None),
        ('redirect 301', 'GET', '/redirect.php?code=301', None, None),
        ('exit', 'GET', '/exit.php', None, None),
        ('exit message', 'GET', '/exit_early.php', None, None),
        ('stream', 'GET', '/stream.php', None, None),
        ('flush then header', 'GET', '/flush_headers.php', None, None),
        ('fatal', 'GET', '/fatal.php', None, None),
        ('fatal displayed', 'GET', '/fatal.php?display=1', None, None),
        ('memory', 'GET', '/memory.php', None, None),
        ('missing', 'GET', '/missing.php', None, None),
        ('limit_extensions', 'GET', '/notes.txt', None, None),
        ('ini', 'GET', '/ini.php', None, None),
        ('ini set', 'GET', '/ini.php?set=1', None, None),
        ('env', 'GET', '/env.php', {'X-Test': '1', 'Proxy': 'http://evil.invalid'}, None),
        ('target', 'GET', '/target.php', None, None),
    ]


class CompatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_tools(fpm=True)
        cls.ref = cls.other = None
        try:
            cls.ref = Stack(PhpFpm, 'fpm')
            cls.other = Stack(backend_factory(), harness.backend_name())
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in (cls.other, cls.ref):
            if s is not None:
                s.stop()

    def test_same_responses(self):
        self.maxDiff = None
        for label, method, path, headers, body in requests():
            with self.subTest(label, path=path):
                want = self.ref.fetch(method, path, headers, body)
                got = self.other.fetch(method, path, headers, body)
                self.assertEqual(got[0], want[0], 'status of %s %s' % (method, path))
                self.assertEqual(got[1], want[1], 'headers of %s %s' % (method, path))
                self.assertEqual(got[2], want[2], 'body of %s %s' % (method, path))

    def test_sapi_name(self):
        # scripts and frameworks test PHP_SAPI === 'fpm-fcgi' (e.g. to use fastcgi_finish_request)
        want = self.ref.nginx.request('GET', '/info.php').json()['sapi']
        got = self.other.nginx.request('GET', '/info.php').json()['sapi']
        self.assertEqual(want, 'fpm-fcgi')
        self.assertEqual(got, want)


if __name__ == '__main__':
    harness.main()
