"""Requests and responses through nginx: methods, query strings, cookies, headers, statuses,
redirects, large bodies, uploads, PATH_INFO, fastcgi_finish_request(), exit()."""

import os
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import harness
from harness import StackTestCase, md5, multipart, wait_until


def wait_for_marker(path):
    """What finish.php writes to PATH once it went on after its response: waited for until it
    is there with its content (file_put_contents creates the file, then writes to it)."""
    def written():
        try:
            with open(path) as f:
                return f.read() or None
        except FileNotFoundError:
            return None
    return wait_until(written, 10, what='the script to go on after the response')


class HttpTest(StackTestCase):
    POOL_INI = 'pm = static\npm.max_children = 2\n'

    # --- methods and query strings ------------------------------------------------------------

    def test_get_query_string(self):
        r = self.get('/info.php?a=1&b[]=x&b[]=y&c=%20sp%26ce&empty=')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get('Content-Type'), 'application/json')
        j = r.json()
        self.assertEqual(j['method'], 'GET')
        self.assertEqual(j['get'], {'a': '1', 'b': ['x', 'y'], 'c': ' sp&ce', 'empty': ''})
        self.assertEqual(j['server']['QUERY_STRING'], 'a=1&b[]=x&b[]=y&c=%20sp%26ce&empty=')
        self.assertEqual(j['server']['REQUEST_URI'], '/info.php?a=1&b[]=x&b[]=y&c=%20sp%26ce&empty=')
        self.assertEqual(j['server']['SCRIPT_FILENAME'], os.path.join(harness.WWW, 'info.php'))
        self.assertEqual(j['input_len'], 0)

    def test_default_content_type_is_html_utf8(self):
        r = self.get('/pid.php')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get('Content-Type'), 'text/html; charset=UTF-8')
        self.assertTrue(r.text.isdigit(), r.text)

    def test_head_has_headers_but_no_body(self):
        r = self.req('HEAD', '/status.php?code=201&h[X-Head-Test]=yes')
        self.assertEqual(r.status, 201)
        self.assertEqual(r.headers.get('X-Head-Test'), 'yes')
        self.assertEqual(r.body, b'')

    def test_post_form(self):
        body = b'name=J%C3%B6rg&list[]=1&list[]=2&plus=a+b'
        r = self.req('POST', '/info.php?q=1', {'Content-Type': 'application/x-www-form-urlencoded'},
                     body)
        self.assertEqual(r.status, 200)
        j = r.json()
        self.assertEqual(j['method'], 'POST')
        self.assertEqual(j['post'], {'name': 'Jörg', 'list': ['1', '2'], 'plus': 'a b'})
        self.assertEqual(j['get'], {'q': '1'})
        self.assertEqual(j['input_md5'], md5(body))
        self.assertEqual(j['server']['CONTENT_TYPE'], 'application/x-www-form-urlencoded')
        self.assertEqual(j['server']['CONTENT_LENGTH'], str(len(body)))

    def test_post_json_body_is_not_parsed_into_post(self):
        body = b'{"k": [1, 2, 3]}'
        r = self.req('POST', '/info.php', {'Content-Type': 'application/json'}, body)
        j = r.json()
        self.assertEqual(j['post'], [])
        self.assertEqual(j['input_len'], len(body))
        self.assertEqual(j['input_md5'], md5(body))

    def test_put_body(self):
        body = os.urandom(100000)
        r = self.req('PUT', '/info.php/resource/7', {'Content-Type': 'application/octet-stream'},
                     body)
        self.assertEqual(r.status, 200)
        j = r.json()
        self.assertEqual(j['method'], 'PUT')
        self.assertEqual(j['input_len'], len(body))
        self.assertEqual(j['input_md5'], md5(body))
        self.assertEqual(j['server']['PATH_INFO'], '/resource/7')

    def test_other_methods(self):
        for method in ('DELETE', 'PATCH', 'OPTIONS'):
            r = self.req(method, '/info.php?m=1', {'Content-Type': 'text/plain'}, b'xyz')
            self.assertEqual(r.status, 200, method)
            j = r.json()
            self.assertEqual(j['method'], method)
            self.assertEqual(j['input_md5'], md5(b'xyz'))

    # --- cookies and headers ------------------------------------------------------------------

    def test_cookies_in(self):
        r = self.get('/info.php', {'Cookie': 'sess=abc123; theme=dark; enc=a%20b'})
        j = r.json()
        self.assertEqual(j['cookie'], {'sess': 'abc123', 'theme': 'dark', 'enc': 'a b'})
        self.assertEqual(j['server']['HTTP_COOKIE'], 'sess=abc123; theme=dark; enc=a%20b')

    def test_set_cookie_out(self):
        r = self.get('/status.php?cookie=val1')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get_all('Set-Cookie'),
                         ['first=val1', 'second=b%20v; path=/sub; HttpOnly; SameSite=Lax'])

    def test_custom_request_headers(self):
        r = self.get('/info.php', {'X-Custom-Thing': 'hello world', 'X-Api-Key': 'k-42',
                                   'User-Agent': 'harness/1.0'})
        j = r.json()
        self.assertEqual(j['server']['HTTP_X_CUSTOM_THING'], 'hello world')
        self.assertEqual(j['server']['HTTP_X_API_KEY'], 'k-42')
        self.assertIsNotNone(j['headers'], 'getallheaders() is missing')
        self.assertEqual(j['headers'].get('X-Custom-Thing'), 'hello world')
        self.assertEqual(j['headers'].get('User-Agent'), 'harness/1.0')

    def test_custom_status_codes(self):
        for code in (201, 204, 403, 404, 418, 451, 500, 503):
            r = self.get('/status.php?code=%d' % code)
            self.assertEqual(r.status, code)
            if code != 204:
                self.assertEqual(r.body, b'status body\n')

    def test_status_from_header_line(self):
        r = self.get('/status.php?' + urllib.parse.urlencode({'raw': 'HTTP/1.1 404 Not Found'}))
        self.assertEqual(r.status, 404)
        r = self.get('/status.php?' + urllib.parse.urlencode({'raw': 'Status: 503 Unavailable'}))
        self.assertEqual(r.status, 503)

    def test_custom_response_headers(self):
        r = self.get('/status.php?h[X-Powered-Test]=abc&h[Cache-Control]=no-store&multi=1'
                     '&h[Content-Type]=text/csv')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get('X-Powered-Test'), 'abc')
        self.assertEqual(r.headers.get('Cache-Control'), 'no-store')
        self.assertEqual(r.headers.get('Content-Type'), 'text/csv;charset=UTF-8')
        self.assertEqual(r.headers.get_all('X-Multi'), ['one', 'two'])
        self.assertIsNone(r.headers.get('X-Powered-By'))  # expose_php = Off

    def test_location_redirect_defaults_to_302(self):
        r = self.get('/redirect.php')
        self.assertEqual(r.status, 302)
        self.assertEqual(r.headers.get('Location'), '/target.php?x=1')

    def test_location_redirect_keeps_explicit_code(self):
        for code in (301, 303, 307):
            r = self.get('/redirect.php?code=%d' % code)
            self.assertEqual(r.status, code)
            self.assertEqual(r.headers.get('Location'), '/target.php?x=1')

    # --- large bodies and uploads -------------------------------------------------------------

    def test_post_10mb_raw(self):
        body = os.urandom(10 * 1024 * 1024)
        r = self.req('POST', '/info.php', {'Content-Type': 'application/octet-stream'}, body)
        self.assertEqual(r.status, 200)
        j = r.json()
        self.assertEqual(j['input_len'], len(body))
        self.assertEqual(j['input_md5'], md5(body))

    def test_post_10mb_form_field(self):
        value = (b'0123456789abcdefghijklmnopqrstuvwxyz' * 300000)[:10 * 1024 * 1024]
        body = b'small=1&data=' + value
        r = self.req('POST', '/info.php', {'Content-Type': 'application/x-www-form-urlencoded'},
                     body)
        self.assertEqual(r.status, 200)
        j = r.json()
        self.assertEqual(j['post']['small'], '1')
        self.assertEqual(j['post']['data'], {'len': len(value), 'md5': md5(value)})
        self.assertEqual(j['input_md5'], md5(body))

    def test_multipart_upload_several_files(self):
        files = [('doc', 'report.pdf', os.urandom(1234), 'application/pdf'),
                 ('pics[]', 'a.png', os.urandom(150 * 1024), 'image/png'),
                 ('pics[]', 'b b.jpg', os.urandom(3 * 1024 * 1024 + 7), 'image/jpeg'),
                 ('empty', 'empty.txt', b'', 'text/plain')]
        body, ctype = multipart([('title', 'holiday'), ('n', '3')], files)
        r = self.req('POST', '/info.php', {'Content-Type': ctype}, body)
        self.assertEqual(r.status, 200, r.text)
        j = r.json()
        self.assertEqual(j['post'], {'title': 'holiday', 'n': '3'})
        got = [(f['field'], f['name'], f['size'], f['error'], f['md5'], f['type'], f['uploaded'])
               for f in j['files']]
        want = [(field.rstrip('[]'), name, len(data), 0, md5(data), ctype_, True)
                for field, name, data, ctype_ in files]
        self.assertEqual(got, want)
        # the body of a multipart request is not available as php://input
        self.assertEqual(j['input_len'], 0)
        # uploaded files were written to upload_tmp_dir and removed after the request
        for f in j['files']:
            self.assertTrue(f['tmp_name'].startswith(self.backend.upload_dir + '/'), f['tmp_name'])
        wait_until(lambda: not os.listdir(self.backend.upload_dir), 5,
                   what='upload_tmp_dir to be emptied after the request')

    def test_upload_larger_than_upload_max_filesize(self):
        big = os.urandom(33 * 1024 * 1024)  # upload_max_filesize = 32M
        body, ctype = multipart([('x', 'y')], [('f', 'big.bin', big, 'application/octet-stream')])
        r = self.req('POST', '/info.php', {'Content-Type': ctype}, body)
        self.assertEqual(r.status, 200)
        j = r.json()
        self.assertEqual(len(j['files']), 1)
        self.assertEqual(j['files'][0]['error'], 1)  # UPLOAD_ERR_INI_SIZE
        self.assertEqual(j['post'], {'x': 'y'})

    # --- URLs -------------------------------------------------------------------------------

    def test_path_info(self):
        r = self.get('/info.php/foo/bar?x=1')
        self.assertEqual(r.status, 200)
        s = r.json()['server']
        self.assertEqual(s['PATH_INFO'], '/foo/bar')
        self.assertEqual(s['SCRIPT_NAME'], '/info.php')
        self.assertEqual(s['PHP_SELF'], '/info.php/foo/bar')
        self.assertEqual(s['SCRIPT_FILENAME'], os.path.join(harness.WWW, 'info.php'))
        self.assertEqual(s['REQUEST_URI'], '/info.php/foo/bar?x=1')
        self.assertEqual(s['QUERY_STRING'], 'x=1')
        self.assertEqual(r.json()['get'], {'x': '1'})

    def test_no_path_info(self):
        s = self.get('/info.php').json()['server']
        self.assertEqual(s['PATH_INFO'], '')
        self.assertEqual(s['SCRIPT_NAME'], '/info.php')
        self.assertEqual(s['PHP_SELF'], '/info.php')

    # --- control flow -----------------------------------------------------------------------

    def test_fastcgi_finish_request(self):
        marker = os.path.join(self.tmp, 'finish-marker')
        r = self.get('/finish.php?s=2&marker=' + urllib.parse.quote(marker))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b'finished-early\n')
        self.assertLess(r.elapsed, 1.5, 'the response waited for the script to end')
        self.assertFalse(os.path.exists(marker), 'marker written before the sleep ended?')
        self.assertTrue(wait_for_marker(marker).startswith('done '))

    def test_output_after_fastcgi_finish_request_goes_nowhere(self):
        # 6 KB after the response: past PHP's output buffer, so they reach the SAPI
        marker = os.path.join(self.tmp, 'finish-output-marker')
        r = self.get('/finish.php?s=0&lines=60&marker=' + urllib.parse.quote(marker))
        self.assertEqual(r.body, b'finished-early\n')
        self.assertRegex(wait_for_marker(marker), r'^done \d+ status 0$')  # not aborted

    def test_no_pcntl_fork(self):
        # as under php-fpm (built without pcntl): a forked worker would serve requests itself
        j = self.get('/pcntl.php').json()
        self.assertEqual(j, {'pcntl_fork': False, 'pcntl_exec': False, 'pcntl_unshare': False,
                             'proc_open': True})

    def test_exit_mid_output(self):
        r = self.get('/exit.php')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b'before-exit\n')

    def test_exit_with_message_keeps_headers(self):
        r = self.get('/exit_early.php')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get('X-Before-Exit'), '1')
        self.assertEqual(r.body, b'partial outputexit message\n')

    def test_flush_with_output_buffering_keeps_headers_open(self):
        # flush() only pushes what PHP's output layer already passed on; with output_buffering
        # = 4096 the text is still buffered, so header() and the status still work after it
        r = self.get('/flush_headers.php')
        self.assertEqual(r.status, 404)
        self.assertEqual(r.headers.get('X-After-Flush'), 'yes')
        self.assertEqual(r.body, b'first part\nsecond part\n')
        self.assertNotIn('headers already sent', self.nginx.error_log_text())

    def test_streamed_output(self):
        r = self.get('/stream.php')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get('X-Stream'), '1')
        self.assertEqual(r.body, b''.join(str(i).encode() * 1000 + b'\n' for i in range(5)))

    def test_concurrent_requests(self):
        with ThreadPoolExecutor(8) as ex:
            results = list(ex.map(lambda i: self.get('/info.php?i=%d' % i), range(40)))
        for i, r in enumerate(results):
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()['get'], {'i': str(i)})


class BodyInMemoryTest(StackTestCase):
    """PHP buffers a request body in a temporary file once it passes 16 KiB (php-fpm too);
    php-pool keeps bodies up to 2 MiB in memory. With no usable temporary directory at all, such
    bodies still arrive whole; a larger one still needs the directory (PHP's own warning)."""

    POOL_INI = ('pm = static\npm.max_children = 1\n'
                'php_admin_value[upload_tmp_dir] = /nonexistent/upload\n'
                'php_admin_value[sys_temp_dir] = /nonexistent/sys\n')

    def setUp(self):
        if harness.is_fpm():
            self.skipTest('php-pool only: php-fpm writes bodies past 16 KiB to a temporary file')

    def test_bodies_up_to_2mib_need_no_temporary_file(self):
        for size in (64 * 1024, 2 * 1024 * 1024 - 4096):
            body = os.urandom(size)
            r = self.req('POST', '/info.php', {'Content-Type': 'application/octet-stream'}, body)
            self.assertEqual(r.status, 200)
            j = r.json()
            self.assertEqual((j['input_len'], j['input_md5']), (size, md5(body)), size)
        value = b'x' * 300000
        r = self.req('POST', '/info.php', {'Content-Type': 'application/x-www-form-urlencoded'},
                     b'small=1&data=' + value)
        j = r.json()
        self.assertEqual(j['post']['small'], '1')
        self.assertEqual(j['post']['data'], {'len': len(value), 'md5': md5(value)})

    def test_a_larger_body_still_goes_to_a_file(self):
        body = os.urandom(3 * 1024 * 1024)
        r = self.req('POST', '/info.php', {'Content-Type': 'application/octet-stream'}, body)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()['input_len'], 0)  # the file could not be made: discarded
        wait_until(lambda: "POST data can't be buffered" in self.backend.log_text(), 5,
                   what='PHP\'s warning in the log')


if __name__ == '__main__':
    harness.main()
