"""Front ends other than nginx: Apache's mod_proxy_fcgi (both ways of configuring it) and
Caddy's php_fastcgi, in front of the backend under test (PHP_POOL_BACKEND), and next to it the
real php-fpm 8.2 behind an identical front end, for a side-by-side comparison of $_SERVER.

Each front end hands the CGI parameters over in its own way, and the backend must turn them into
the same $_SERVER that php-fpm makes of them (cgi.fix_pathinfo = 1, as in the harness):
- Apache, SetHandler "proxy:unix:SOCK|fcgi://localhost" (Debian's php8.2-fpm.conf): Apache maps
  the URL to the file; SCRIPT_FILENAME is "proxy:fcgi://localhost/DOCROOT/x.php" (the backend
  strips the prefix), PATH_INFO and PATH_TRANSLATED are set, URL-decoded.
- Apache, ProxyPassMatch ^/(.*\\.php(/.*)?)$ unix:SOCK|fcgi://localhost/DOCROOT/$1: the whole
  URL path goes to the backend as SCRIPT_FILENAME "proxy:fcgi://localhost/DOCROOT/x.php/a/b"
  (URL-encoded), SCRIPT_NAME "/x.php/a/b" (decoded) and no PATH_INFO; the backend strips the
  prefix and splits the path by stat()ing back through '/', keeping ORIG_SCRIPT_FILENAME and
  ORIG_SCRIPT_NAME. php-fpm 8.2 takes PATH_INFO from the encoded SCRIPT_FILENAME, so it stays
  encoded there (/x.php/a%20b → PATH_INFO "/a%20b"; PHP 8.3 decodes it, GH-17643).
- Caddy, php_fastcgi: Caddy splits PATH_INFO at ".php" itself and sends an empty PATH_INFO
  when there is none.

$_SERVER keys that may differ between the two stacks: REQUEST_TIME, REQUEST_TIME_FLOAT (the
clock) and REMOTE_PORT (the front end's ephemeral port); each stack's temporary directory and
its front end's port (SERVER_PORT, HTTP_HOST) are replaced by TMP and PORT before comparing.
Everything else, ORIG_* and PHP_SELF included, must be equal, as must status and body of
requests for scripts that do not exist.

ExampleConfigsTest runs the files in conf.d/examples themselves (nginx, Apache both ways, Caddy),
only their socket path, docroot and port replaced.

Run as root, Apache's children are www-data: the pools listen with listen.mode = 0666.
"""

import os
import re
import unittest

import harness
from harness import (APACHE_BIN, CADDY_BIN, FPM_BIN, WWW, Apache, Caddy, PhpFpm, backend_factory,
                     make_tmp, multipart, md5, remove_tmp)

POOL_INI = 'pm = static\npm.max_children = 2\nlisten.mode = 0666\n'
IGNORED_SERVER_KEYS = {'REQUEST_TIME', 'REQUEST_TIME_FLOAT', 'REMOTE_PORT'}


def php_string(literal):
    """The value of a var_export()ed PHP string literal ('...'); other literals as they are."""
    if len(literal) >= 2 and literal[0] == "'" and literal[-1] == "'":
        return re.sub(r"\\([\\'])", r'\1', literal[1:-1])
    return literal


def parse_var_export(text):
    """var_export() of a flat array of strings → {key: value}."""
    out, key = {}, None
    for line in text.splitlines()[1:-1]:  # 'array (' ... ')'
        m = re.match(r"^  '((?:[^'\\]|\\.)*)' => (.*),$", line)
        if m:
            key = php_string("'%s'" % m.group(1))
            out[key] = php_string(m.group(2))
        elif key is not None:  # a value spanning lines
            out[key] = php_string(out[key] + '\n' + line.rstrip(','))
    return out


class Stack:
    """One backend and one front end in their own temporary directory."""

    def __init__(self, backend_cls, frontend, label):
        self.label = label
        self.tmp = make_tmp('php-pool-fe-%s-' % label)
        self.backend = self.frontend = None
        try:
            self.backend = backend_cls(self.tmp, POOL_INI)
            self.frontend = frontend(self.tmp, self.backend.socket_path)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        try:
            if self.frontend:
                self.frontend.stop()
        finally:
            try:
                if self.backend:
                    self.backend.stop()
            finally:
                remove_tmp(self.tmp)

    def request(self, method, path, headers=None, body=None):
        return self.frontend.request(method, path, headers, body)

    def normalise(self, text):
        text = text.replace(self.tmp, 'TMP')
        return re.sub(r'\b%d\b' % self.frontend.port, 'PORT', text)

    def server_vars(self, method, path, headers=None, body=None):
        """(status, normalised $_SERVER of www/server.php minus IGNORED_SERVER_KEYS)"""
        r = self.request(method, path, headers, body)
        server = parse_var_export(self.normalise(r.text)) if r.status == 200 else {}
        for k in IGNORED_SERVER_KEYS:
            server.pop(k, None)
        return r.status, server

    def logs(self):
        return self.backend.log_text() + '\n' + self.frontend.error_log_text()


class FrontEndTests:
    maxDiff = None
    """The same requests through every front end (mixed into one TestCase per front end)."""

    FRONTEND_BIN = None
    PACKAGE = None

    @staticmethod
    def frontend(tmp, socket_path):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        missing = [p for p in (cls.FRONTEND_BIN, FPM_BIN) if not os.access(p, os.X_OK)]
        if missing:
            raise unittest.SkipTest('not installed: %s (Debian packages %s, php8.2-fpm; see '
                                    'scripts/install-deps.sh)' % (', '.join(missing), cls.PACKAGE))
        cls.stack = cls.ref = None
        try:
            # the backend under test, and php-fpm behind an identical front end
            cls.stack = Stack(backend_factory(), cls.frontend, harness.backend_name())
            cls.ref = Stack(PhpFpm, cls.frontend, 'fpm-ref')
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in (cls.stack, cls.ref):
            if s is not None:
                s.stop()

    def req(self, method, path, headers=None, body=None):
        return self.stack.request(method, path, headers, body)

    def info(self, method, path, headers=None, body=None, status=200):
        r = self.req(method, path, headers, body)
        self.assertEqual(r.status, status, '%s %s: %r\n%s' % (method, path, r.body[:500],
                                                              self.stack.logs()[-3000:]))
        return r.json()

    # -- requests and responses ----------------------------------------------------------------

    def test_get_query_string(self):
        j = self.info('GET', '/info.php?a=1&b[]=2&b[]=3&s=h%C3%A9llo+world&e=')
        self.assertEqual(j['method'], 'GET')
        self.assertEqual(j['get'], {'a': '1', 'b': ['2', '3'], 's': 'héllo world', 'e': ''})
        self.assertEqual(j['server']['QUERY_STRING'], 'a=1&b[]=2&b[]=3&s=h%C3%A9llo+world&e=')
        self.assertEqual(j['server']['REQUEST_URI'],
                         '/info.php?a=1&b[]=2&b[]=3&s=h%C3%A9llo+world&e=')
        self.assertEqual(j['server']['SCRIPT_NAME'], '/info.php')
        self.assertEqual(j['server']['SCRIPT_FILENAME'], os.path.join(WWW, 'info.php'))
        self.assertEqual(j['server']['DOCUMENT_ROOT'], WWW)

    def test_post_form(self):
        form = b'a=1&b[]=2&b[]=3&s=h%C3%A9llo+world'
        j = self.info('POST', '/info.php?q=1',
                      {'Content-Type': 'application/x-www-form-urlencoded'}, form)
        self.assertEqual(j['method'], 'POST')
        self.assertEqual(j['get'], {'q': '1'})
        self.assertEqual(j['post'], {'a': '1', 'b': ['2', '3'], 's': 'héllo world'})
        self.assertEqual(j['input_len'], len(form))
        self.assertEqual(j['server']['CONTENT_TYPE'], 'application/x-www-form-urlencoded')
        self.assertEqual(j['server']['CONTENT_LENGTH'], str(len(form)))

    def test_multipart_upload(self):
        one = bytes(range(256)) * 400  # 100 KiB
        two = b'two\n' * 1000
        body, ctype = multipart([('title', 'héllo')],
                                [('f1', 'one.bin', one, 'application/octet-stream'),
                                 ('many[]', 'two.txt', two, 'text/plain'),
                                 ('many[]', 'empty.txt', b'', 'text/plain')])
        j = self.info('POST', '/info.php', {'Content-Type': ctype}, body)
        self.assertEqual(j['post'], {'title': 'héllo'})
        files = {(f['field'], f['name']): f for f in j['files']}
        self.assertEqual(set(files), {('f1', 'one.bin'), ('many', 'two.txt'),
                                      ('many', 'empty.txt')})
        f1, f2, f3 = files['f1', 'one.bin'], files['many', 'two.txt'], files['many', 'empty.txt']
        self.assertEqual((f1['size'], f1['md5'], f1['error'], f1['uploaded'], f1['type']),
                         (len(one), md5(one), 0, True, 'application/octet-stream'))
        self.assertEqual((f2['size'], f2['md5'], f2['error'], f2['uploaded']),
                         (len(two), md5(two), 0, True))
        self.assertEqual((f3['size'], f3['error']), (0, 0))
        self.assertTrue(f1['tmp_name'].startswith(self.stack.backend.upload_dir + '/'),
                        f1['tmp_name'])

    def test_path_info(self):
        r = self.req('GET', '/server.php/a/b?x=1')
        self.assertEqual(r.status, 200, r.text)
        s = parse_var_export(r.text)
        self.assertEqual(s.get('SCRIPT_NAME'), '/server.php')
        self.assertEqual(s.get('PATH_INFO'), '/a/b')
        self.assertEqual(s.get('PHP_SELF'), '/server.php/a/b')
        self.assertEqual(s.get('SCRIPT_FILENAME'), os.path.join(WWW, 'server.php'))
        self.assertEqual(s.get('REQUEST_URI'), '/server.php/a/b?x=1')
        self.assertEqual(s.get('QUERY_STRING'), 'x=1')
        self.assertEqual(s.get('PATH_TRANSLATED'), WWW + '/a/b')
        self.check_path_info_origin(s)

    def check_path_info_origin(self, s):
        """What the front end itself sent, where the backend had to split it."""
        self.assertNotIn('ORIG_SCRIPT_NAME', s)
        self.assertNotIn('ORIG_SCRIPT_FILENAME', s)

    ENCODED_PATH_INFO = '/a b/é'  # as the front end decodes it; REQUEST_URI stays encoded

    def test_path_info_encoded(self):
        r = self.req('GET', '/server.php/a%20b/%C3%A9')
        self.assertEqual(r.status, 200, r.text)
        s = parse_var_export(r.text)
        self.assertEqual(s.get('SCRIPT_NAME'), '/server.php')
        self.assertEqual(s.get('PATH_INFO'), self.ENCODED_PATH_INFO)
        self.assertEqual(s.get('PHP_SELF'), '/server.php' + self.ENCODED_PATH_INFO)
        self.assertEqual(s.get('SCRIPT_FILENAME'), os.path.join(WWW, 'server.php'))
        self.assertEqual(s.get('REQUEST_URI'), '/server.php/a%20b/%C3%A9')

    def test_custom_status_and_headers(self):
        r = self.req('GET', '/status.php?code=418&h[X-Foo]=bar&h[Cache-Control]=no-store&multi=1')
        self.assertEqual(r.status, 418)
        self.assertEqual(r.headers.get('X-Foo'), 'bar')
        self.assertEqual(r.headers.get('Cache-Control'), 'no-store')
        # Apache folds repeated response headers into one line, as HTTP allows
        self.assertEqual(', '.join(r.headers.get_all('X-Multi')), 'one, two')
        self.assertTrue(r.headers.get('Content-Type', '').startswith('text/html'),
                        r.headers.get('Content-Type'))
        self.assertEqual(r.body, b'status body\n')
        r = self.req('GET', '/status.php?code=503')
        self.assertEqual((r.status, r.body), (503, b'status body\n'))

    def test_redirect(self):
        r = self.req('GET', '/redirect.php')
        self.assertEqual(r.status, 302)
        self.assertEqual(r.headers.get('Location'), '/target.php?x=1')
        self.assertEqual(r.body, b'moved\n')
        r = self.req('GET', '/redirect.php?code=301')
        self.assertEqual(r.status, 301)
        self.assertEqual(r.headers.get('Location'), '/target.php?x=1')
        r = self.req('GET', '/target.php?x=1')
        self.assertEqual((r.status, r.body), (200, b'target reached\n'))

    def test_cookies(self):
        j = self.info('GET', '/info.php', {'Cookie': 'a=1; b=two; c=%C3%A9'})
        self.assertEqual(j['cookie'], {'a': '1', 'b': 'two', 'c': 'é'})
        self.assertEqual(j['server']['HTTP_COOKIE'], 'a=1; b=two; c=%C3%A9')
        r = self.req('GET', '/status.php?cookie=v1')
        self.assertEqual(r.status, 200)
        cookies = r.headers.get_all('Set-Cookie')
        self.assertEqual(len(cookies), 2, cookies)
        self.assertEqual(cookies[0], 'first=v1')
        self.assertEqual(cookies[1], 'second=b%20v; path=/sub; HttpOnly; SameSite=Lax')

    def test_missing_script(self):
        for path in ('/missing.php', '/missing.php/x'):
            r = self.req('GET', path)
            self.assertEqual(r.status, 404, path)

    # -- side by side with php-fpm -------------------------------------------------------------

    COMPARED = [
        ('GET', '/server.php?a=1&b=%20x', {'X-Custom': 'v1', 'Cookie': 'a=1; b=two'}, None),
        ('GET', '/server.php', None, None),
        ('GET', '/server.php/a/b?x=1', None, None),
        ('GET', '/server.php/a%20b/%C3%A9?q', None, None),
        ('GET', '/server.php/', None, None),
        ('GET', '/server.php/a/b/', None, None),
        ('GET', '/server.php/x.php/y', None, None),
        ('GET', '/server.php/a+b%2Bc/%25d', None, None),
        ('GET', '/server.php//a//b', None, None),
        ('POST', '/server.php/p?x=y', {'Content-Type': 'application/x-www-form-urlencoded'},
         b'a=1&b=2'),
        ('HEAD', '/server.php', None, None),
    ]

    def test_server_vars_same_as_fpm(self):
        for method, path, headers, body in self.COMPARED:
            with self.subTest(method=method, path=path):
                got = self.stack.server_vars(method, path, headers, body)
                want = self.ref.server_vars(method, path, headers, body)
                self.assertEqual(got[0], want[0], '%s %s: status' % (method, path))
                self.assertEqual(got[1], want[1], '%s %s: $_SERVER (%s vs php-fpm)'
                                 % (method, path, self.stack.label))

    def test_missing_script_same_as_fpm(self):
        for path in ('/missing.php', '/missing.php/x', '/server.phpx/y'):
            with self.subTest(path=path):
                got = self.stack.request('GET', path)
                want = self.ref.request('GET', path)
                self.assertEqual((got.status, got.body), (want.status, want.body))


class ApacheHandlerTest(FrontEndTests, unittest.TestCase):
    FRONTEND_BIN = APACHE_BIN
    PACKAGE = 'apache2'

    @staticmethod
    def frontend(tmp, socket_path):
        return Apache(tmp, socket_path, WWW, mode='handler')


class ApacheProxyPassTest(FrontEndTests, unittest.TestCase):
    FRONTEND_BIN = APACHE_BIN
    PACKAGE = 'apache2'

    @staticmethod
    def frontend(tmp, socket_path):
        return Apache(tmp, socket_path, WWW, mode='proxypass')

    # php-fpm 8.2 takes PATH_INFO from SCRIPT_FILENAME, which Apache sends URL-encoded (it
    # decodes SCRIPT_NAME only); PHP 8.3 decodes it (GH-17643), 8.2 does not.
    ENCODED_PATH_INFO = '/a%20b/%C3%A9'

    def check_path_info_origin(self, s):
        # Apache sent SCRIPT_FILENAME proxy:fcgi://localhost/WWW/server.php/a/b, SCRIPT_NAME
        # /server.php/a/b and no PATH_INFO: the backend split them and kept the originals
        self.assertEqual(s.get('ORIG_SCRIPT_NAME'), '/server.php/a/b')
        self.assertEqual(s.get('ORIG_SCRIPT_FILENAME'), os.path.join(WWW, 'server.php/a/b'))
        self.assertNotIn('ORIG_PATH_INFO', s)


class CaddyTest(FrontEndTests, unittest.TestCase):
    FRONTEND_BIN = CADDY_BIN
    PACKAGE = 'caddy'

    @staticmethod
    def frontend(tmp, socket_path):
        return Caddy(tmp, socket_path, WWW)


# -- conf.d/examples: the shipped site configurations, run as they are ---------------------------

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(harness.HERE)), 'conf.d', 'examples')


def example_text(name, socket_path, docroot=WWW):
    """conf.d/examples/NAME with the site's paths pointed at the test's socket and docroot."""
    with open(os.path.join(EXAMPLES, name)) as f:
        text = f.read()
    return (text.replace('/run/php-pool/SITE.sock', socket_path)
            .replace('/var/www/SITE', docroot.rstrip('/')))


class ExampleApache(Apache):
    """apache-site.conf's <VirtualHost> inside the harness's apache2.conf; mode 'proxypass'
    swaps in the commented-out ProxyPassMatch for the SetHandler block."""

    def fastcgi_block(self):
        text = example_text('apache-site.conf', self.socket, self.docroot)
        if self.mode == 'proxypass':
            text = re.sub(r'\n *<FilesMatch.*?</FilesMatch>', '', text, flags=re.S)
            text = text.replace('#ProxyPassMatch', 'ProxyPassMatch')
        return text.replace('<VirtualHost *:80>', '<VirtualHost 127.0.0.1:%d>' % self.port)


class ExampleCaddy(Caddy):
    """The harness's global options, then the Caddyfile's site block on 127.0.0.1:PORT."""

    def _write_conf(self):
        path = super()._write_conf()
        with open(path) as f:
            options = f.read().split('\n\n')[0]
        site = example_text('Caddyfile', self.socket, self.docroot)
        with open(path, 'w') as f:
            f.write(options + '\n\n' + site.replace('site.example {',
                                                  'http://127.0.0.1:%d {' % self.port))
        return path


class ExampleNginx(harness._FrontEnd):
    """nginx-site.conf's server block in a minimal nginx.conf (paths in tmp)."""

    name = 'nginx'

    def site_text(self):
        """The example's server block (and whatever else it puts in http {})."""
        return example_text('nginx-site.conf', self.socket, self.docroot)

    def _write_conf(self):
        for d in ('body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'):
            os.makedirs(os.path.join(self.tmp, 'nginx-temp', d), exist_ok=True)
        site = self.site_text().replace('listen 80;', 'listen 127.0.0.1:%d;' % self.port)
        conf = ''.join([
            'user root root;\n' if harness.IS_ROOT else '',
            'worker_processes 1;\ndaemon off;\npid {t}/nginx.pid;\n',
            'error_log {t}/nginx-error.log info;\nevents {{ worker_connections 64; }}\n',
            'http {{\n    access_log off;\n    default_type text/plain;\n',
            ''.join('    %s_temp_path {t}/nginx-temp/%s;\n' % (k, d) for k, d in (
                ('client_body', 'body'), ('proxy', 'proxy'), ('fastcgi', 'fastcgi'),
                ('uwsgi', 'uwsgi'), ('scgi', 'scgi'))),
        ]).format(t=self.tmp) + site + '}\n'
        path = os.path.join(self.tmp, 'nginx.conf')
        with open(path, 'w') as f:
            f.write(conf)
        return path

    def _argv(self):
        return [harness.NGINX_BIN, '-c', self.conf_path, '-p', self.tmp + '/',
                '-e', os.path.join(self.tmp, 'nginx-error.log')]

    def error_log_text(self):
        return (harness.read_text(os.path.join(self.tmp, 'nginx-error.log'))
                + super().error_log_text())


class ExampleConfigsTest(unittest.TestCase):
    """Each file in conf.d/examples, with only its paths and port replaced, in front of the
    backend under test: the script, PATH_INFO, a POST and a missing script."""

    FRONTENDS = [
        ('nginx-site.conf', harness.NGINX_BIN, ExampleNginx, {}),
        ('apache-site.conf (SetHandler)', APACHE_BIN, ExampleApache, {'mode': 'handler'}),
        ('apache-site.conf (ProxyPassMatch)', APACHE_BIN, ExampleApache, {'mode': 'proxypass'}),
        ('Caddyfile', CADDY_BIN, ExampleCaddy, {}),
    ]

    @classmethod
    def setUpClass(cls):
        cls.tmp = make_tmp('php-pool-fe-examples-')
        os.chmod(cls.tmp, 0o711)  # Apache's www-data children reach the socket in it
        try:
            cls.backend = backend_factory()(cls.tmp, POOL_INI)
        except BaseException:
            remove_tmp(cls.tmp)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.backend.stop()
        finally:
            remove_tmp(cls.tmp)

    def test_examples(self):
        for label, binary, cls, kw in self.FRONTENDS:
            with self.subTest(config=label):
                if not os.access(binary, os.X_OK):
                    self.skipTest('not installed: %s' % binary)
                ftmp = make_tmp('php-pool-fe-example-')
                fe = None
                try:
                    fe = cls(ftmp, self.backend.socket_path, WWW, **kw)
                    r = fe.request('GET', '/server.php/a/b?x=1')
                    self.assertEqual(r.status, 200, fe.error_log_text()[-2000:])
                    s = parse_var_export(r.text)
                    self.assertEqual(
                        [s.get(k) for k in ('SCRIPT_NAME', 'PATH_INFO', 'PHP_SELF',
                                            'SCRIPT_FILENAME', 'REQUEST_URI')],
                        ['/server.php', '/a/b', '/server.php/a/b',
                         os.path.join(WWW, 'server.php'), '/server.php/a/b?x=1'])
                    r = fe.request('POST', '/info.php?q=1',
                                   {'Content-Type': 'application/x-www-form-urlencoded'}, b'a=1')
                    self.assertEqual(r.status, 200)
                    self.assertEqual((r.json()['get'], r.json()['post']), ({'q': '1'}, {'a': '1'}))
                    r = fe.request('GET', '/missing.php')
                    self.assertEqual(r.status, 404)
                finally:
                    if fe is not None:
                        fe.stop()
                    remove_tmp(ftmp)


if __name__ == '__main__':
    harness.main()
