"""The status page, ping and the access log of the real php-pool behind a real nginx.

Every format of pm.status_path is read with a real parser (json, xml.etree, html.parser, and
prometheus_client's OpenMetrics parser), counters are watched while requests run, pm.status_listen
is exercised over raw FastCGI, access.log lines are matched against access.format, and the key sets
of json/xml/plain/fpm_get_status() are compared with those of the real php-fpm 8.2.

Run by hand:  PHP_POOL_BIN=BUILD/src/php-pool python3 tests/status/test_status_pages.py -v
"""

import html.parser
import json
import os
import re
import sys
import threading
import time
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import harness as h  # noqa: E402

# php-fpm 8.2's fields, in its order.
POOL_KEYS = ['pool', 'process manager', 'start time', 'start since', 'accepted conn',
             'listen queue', 'max listen queue', 'listen queue len', 'idle processes',
             'active processes', 'total processes', 'max active processes',
             'max children reached', 'slow requests']
PROC_KEYS = ['pid', 'state', 'start time', 'start since', 'requests', 'request duration',
             'request method', 'request uri', 'content length', 'user', 'script',
             'last request cpu', 'last request memory']
PLAIN_PROC_KEYS = [k if k != 'request uri' else 'request URI' for k in PROC_KEYS]
GET_STATUS_KEYS = ['pool', 'process-manager', 'start-time', 'start-since', 'accepted-conn',
                   'listen-queue', 'max-listen-queue', 'listen-queue-len', 'idle-processes',
                   'active-processes', 'total-processes', 'max-active-processes',
                   'max-children-reached', 'slow-requests', 'procs']
GET_STATUS_PROC_KEYS = ['pid', 'state', 'start-time', 'start-since', 'requests',
                        'request-duration', 'request-method', 'request-uri', 'query-string',
                        'request-length', 'user', 'script', 'last-request-cpu',
                        'last-request-memory']
NO_CACHE = 'no-cache, no-store, must-revalidate, max-age=0'

ACCESS_FORMAT = ('%R - %u %t \\"%m %r%Q%q\\" %s %f %{mili}d %{kilo}M %C%% '
                 '%{REQUEST_URI}e %{X-Test}o %n %l %p %P %{%Y-%m-%dT%H:%M:%S}T')

SCRIPTS = {
    'sleep.php': '<?php usleep((int)($_GET["ms"] ?? 1000) * 1000); echo "slept";',
    'hello.php': '<?php header("X-Test: yes"); echo "hello";',
    'quiet.php': '<?php echo "quiet";',
    'gs.php': '<?php header("Content-Type: application/json"); echo json_encode(fpm_get_status());',
}


def pool_text(tmp, access_log=True):
    text = ('pm = static\n'
            'pm.max_children = 3\n'
            'pm.status_path = /status\n'
            'ping.path = /ping\n'
            'ping.response = pong\n'
            'pm.status_listen = %s/status.sock\n' % tmp)
    if access_log:
        text += ('access.log = %s/access.log\n'
                 'access.format = "%s"\n'
                 'access.suppress_path[] = /quiet.php\n' % (tmp, ACCESS_FORMAT))
    return text


def write_scripts(docroot):
    for name, body in SCRIPTS.items():
        with open(os.path.join(docroot, name), 'w') as f:
            f.write(body)


def status_location(nginx):
    return ('        location ~ ^/(status|ping)$ {\n%s        }\n' % nginx.fastcgi_block())


def parse_plain(text):
    """'key:   value' lines → (pool dict, list of process dicts), keeping key order."""
    blocks = text.split('\n************************\n')
    def kv(block):
        out = {}
        for line in block.strip('\n').split('\n'):
            k, sep, v = line.partition(':')
            assert sep, 'not a key: value line: %r' % line
            out[k] = v.strip()
        return out
    return kv(blocks[0]), [kv(b) for b in blocks[1:]]


def is_status_worker(pid):
    with open('/proc/%d/cmdline' % pid, 'rb') as f:
        return f.read().rstrip(b'\0').endswith(b'(status)')


class HtmlTables(html.parser.HTMLParser):
    """Collects the cells of every <tr> of every table."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == 'table':
            self.tables.append([])
        elif tag == 'tr':
            self.tables[-1].append([])
        elif tag in ('th', 'td'):
            self._cell = ''

    def handle_endtag(self, tag):
        if tag in ('th', 'td'):
            self.tables[-1][-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def status(nginx, query=''):
    r = nginx.request('GET', '/status' + ('?' + query if query else ''))
    assert r.status == 200, r
    return r


class StatusPagesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        h.require_tools(nginx=True, fpm=False)
        cls.tmp = h.make_tmp('php-pool-status-')
        cls.docroot = os.path.join(cls.tmp, 'www')
        os.makedirs(cls.docroot)
        write_scripts(cls.docroot)
        cls.backend = h.PhpPool(cls.tmp, pool_text(cls.tmp))
        try:
            cls.nginx = h.Nginx(cls.tmp, cls.backend.socket_path, docroot=cls.docroot,
                                extra=status_location)
        except BaseException:
            cls.backend.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        cls.backend.stop()
        h.remove_tmp(cls.tmp)

    def access_lines(self):
        return h.read_text(os.path.join(self.tmp, 'access.log')).splitlines()

    # --- formats ---------------------------------------------------------------------------

    def check_headers(self, r, content_type):
        self.assertEqual(r.headers.get('Content-Type'), content_type)
        self.assertEqual(r.headers.get('Cache-Control'), NO_CACHE)
        self.assertEqual(r.headers.get('Expires'), 'Thu, 01 Jan 1970 00:00:00 GMT')

    def test_plain(self):
        r = status(self.nginx)
        self.check_headers(r, 'text/plain;charset=UTF-8')
        pool, procs = parse_plain(r.text)
        self.assertEqual(list(pool), POOL_KEYS)
        self.assertEqual(procs, [])
        self.assertEqual(pool['pool'], 'www')
        self.assertEqual(pool['process manager'], 'static')
        self.assertRegex(pool['start time'], r'^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$')
        self.assertEqual(pool['total processes'], '3')
        self.assertGreaterEqual(int(pool['active processes']), 1)  # this request
        # The unix socket's backlog: listen.backlog's default is php-fpm's on Linux, -1, which
        # the kernel takes as its limit.
        with open('/proc/sys/net/core/somaxconn') as f:
            self.assertEqual(int(pool['listen queue len']), int(f.read()))
        pool, procs = parse_plain(status(self.nginx, 'full').text)
        self.assertEqual(len(procs), 3)
        for p in procs:
            self.assertEqual(list(p), PLAIN_PROC_KEYS)
        me = [p for p in procs if p['state'] == 'Running']
        self.assertTrue(me)
        self.assertIn('/status?full', [p['request URI'] for p in me])

    def test_json(self):
        r = status(self.nginx, 'json')
        self.check_headers(r, 'application/json')
        d = r.json()
        self.assertEqual(list(d), POOL_KEYS)
        self.assertIsInstance(d['start time'], int)
        self.assertEqual(d['idle processes'] + d['active processes'], d['total processes'])
        d = status(self.nginx, 'json&full').json()
        self.assertEqual(list(d), POOL_KEYS + ['processes'])
        self.assertEqual(len(d['processes']), 3)
        for p in d['processes']:
            self.assertEqual(list(p), PROC_KEYS)
        self.assertIn('/status?json&full', [p['request uri'] for p in d['processes']])

    def test_xml(self):
        r = status(self.nginx, 'xml')
        self.check_headers(r, 'text/xml;charset=UTF-8')
        root = ET.fromstring(r.body)
        self.assertEqual(root.tag, 'status')
        self.assertEqual([c.tag for c in root], [k.replace(' ', '-') for k in POOL_KEYS])
        root = ET.fromstring(status(self.nginx, 'xml&full').body)
        self.assertEqual(root[-1].tag, 'processes')
        procs = list(root[-1])
        self.assertEqual(len(procs), 3)
        for p in procs:
            self.assertEqual([c.tag for c in p], [k.replace(' ', '-') for k in PROC_KEYS])
        self.assertIn('/status?xml&full', [p.findtext('request-uri') for p in procs])

    def test_html(self):
        r = status(self.nginx, 'html')
        self.check_headers(r, 'text/html;charset=UTF-8')
        p = HtmlTables()
        p.feed(r.text)
        self.assertEqual(len(p.tables), 1)
        self.assertEqual([row[0] for row in p.tables[0]], POOL_KEYS)
        p = HtmlTables()
        p.feed(status(self.nginx, 'html&full').text)
        self.assertEqual(len(p.tables), 2)
        self.assertEqual(p.tables[1][0], PROC_KEYS)
        self.assertEqual(len(p.tables[1]), 4)
        uris = [row[7] for row in p.tables[1][1:]]
        self.assertIn('/status?html&full', uris)  # &amp; decoded by the parser

    def test_openmetrics(self):
        try:
            from prometheus_client.openmetrics.parser import text_string_to_metric_families
        except ImportError:
            self.skipTest('python3-prometheus-client is not installed (scripts/install-deps.sh)')
        r = status(self.nginx, 'openmetrics')
        self.check_headers(r, 'application/openmetrics-text; version=1.0.0; charset=utf-8')
        self.assertTrue(r.text.endswith('# EOF\n'))
        fams = {f.name: f for f in text_string_to_metric_families(r.text)}
        expected = {
            'phpfpm_up': 'gauge', 'phpfpm_start_since': 'counter',
            'phpfpm_accepted_connections': 'counter', 'phpfpm_listen_queue': 'gauge',
            'phpfpm_max_listen_queue': 'counter', 'phpfpm_listen_queue_length': 'gauge',
            'phpfpm_idle_processes': 'gauge', 'phpfpm_active_processes': 'gauge',
            'phpfpm_total_processes': 'gauge', 'phpfpm_max_active_processes': 'counter',
            'phpfpm_max_children_reached': 'counter', 'phpfpm_slow_requests': 'counter'}
        self.assertEqual({n: f.type for n, f in fams.items()}, expected)
        self.assertEqual(fams['phpfpm_up'].samples[0].value, 1)
        self.assertEqual(fams['phpfpm_accepted_connections'].samples[0].name,
                         'phpfpm_accepted_connections_total')
        self.assertEqual(fams['phpfpm_total_processes'].samples[0].value, 3)
        # full: per-process samples labelled by pid
        text = status(self.nginx, 'openmetrics&full').text
        fams = {f.name: f for f in text_string_to_metric_families(text)}
        # the pool's workers: not pm.status_listen's own, which is not one of its processes
        pids = {p for p in self.backend.worker_pids() if not is_status_worker(p)}
        self.assertEqual(len(pids), 3)
        for name in ('phpfpm_process_state', 'phpfpm_process_requests',
                     'phpfpm_process_request_duration', 'phpfpm_process_last_request_cpu',
                     'phpfpm_process_last_request_memory', 'phpfpm_process_start_since'):
            self.assertIn(name, fams)
            self.assertEqual({int(s.labels['pid']) for s in fams[name].samples}, pids, name)
        states = {s.labels['state'] for s in fams['phpfpm_process_state'].samples}
        self.assertIn('Running', states)

    def test_head(self):
        r = self.nginx.request('HEAD', '/status?json')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b'')
        self.assertEqual(r.headers.get('Cache-Control'), NO_CACHE)

    # --- ping --------------------------------------------------------------------------------

    def test_ping(self):
        r = self.nginx.request('GET', '/ping')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b'pong')
        self.assertEqual(r.headers.get('Content-Type'), 'text/plain;charset=UTF-8')
        self.assertEqual(r.headers.get('Cache-Control'), NO_CACHE)

    # --- counters ----------------------------------------------------------------------------

    def test_counters_move(self):
        before = status(self.nginx, 'json').json()['accepted conn']
        self.assertEqual(self.nginx.request('GET', '/hello.php').status, 200)
        after = status(self.nginx, 'json').json()['accepted conn']
        self.assertGreaterEqual(after - before, 2)  # hello.php and this status request

        done = threading.Event()

        def sleeper():
            try:
                self.nginx.request('GET', '/sleep.php?ms=2000')
            finally:
                done.set()

        t = threading.Thread(target=sleeper)
        t.start()
        try:
            def busy():
                d = status(self.nginx, 'json&full').json()
                rows = [p for p in d['processes'] if p['request uri'].startswith('/sleep.php')
                        and p['state'] == 'Running']
                return (d, rows[0]) if rows and d['active processes'] >= 2 else None
            d, row = h.wait_until(busy, 5, 0.05, 'a Running sleep.php in the status page')
            self.assertEqual(row['request method'], 'GET')
            self.assertEqual(row['request uri'], '/sleep.php?ms=2000')
            self.assertTrue(row['script'].endswith('/sleep.php'))
            self.assertGreater(row['request duration'], 0)
            self.assertGreaterEqual(d['max active processes'], 2)
            self.assertEqual(d['idle processes'] + d['active processes'], 3)
        finally:
            t.join(30)
        self.assertTrue(done.is_set())
        # Once idle again, the row shows the last request's figures (unless that worker has
        # already taken the next status request: the unit tests cover the rule).
        def settled():
            d = status(self.nginx, 'json&full').json()
            rows = [p for p in d['processes'] if p['pid'] == row['pid']]
            self.assertEqual(len(rows), 1)
            # the worker may still be finishing the request (closing the connection)
            if rows[0]['request uri'] == '/sleep.php?ms=2000' and rows[0]['state'] != 'Idle':
                return None
            return rows
        rows = h.wait_until(settled, 5, 0.02, 'the sleep.php worker to finish')
        if rows[0]['request uri'] == '/sleep.php?ms=2000':
            self.assertEqual(rows[0]['state'], 'Idle')
            self.assertGreaterEqual(rows[0]['request duration'], 2000000)
            self.assertGreater(rows[0]['last request memory'], 0)
        else:
            self.assertEqual(rows[0]['request uri'], '/status?json&full')

    # --- fpm_get_status() ------------------------------------------------------------------

    def test_fpm_get_status(self):
        r = self.nginx.request('GET', '/gs.php?q=1')
        self.assertEqual(r.status, 200, r)
        d = r.json()
        self.assertEqual(list(d), GET_STATUS_KEYS)
        self.assertEqual(d['pool'], 'www')
        self.assertEqual(d['process-manager'], 'static')
        self.assertEqual(len(d['procs']), 3)
        for p in d['procs']:
            self.assertEqual(list(p), GET_STATUS_PROC_KEYS)
        me = [p for p in d['procs'] if p['state'] == 'Running' and p['request-uri'] == '/gs.php']
        self.assertEqual(len(me), 1, d['procs'])
        self.assertEqual(me[0]['query-string'], 'q=1')
        self.assertEqual(me[0]['request-method'], 'GET')

    # --- pm.status_listen --------------------------------------------------------------------

    def test_status_listen(self):
        sock = os.path.join(self.tmp, 'status.sock')
        before = status(self.nginx, 'json').json()['accepted conn']
        out, _err, _ = h.fcgi_request(sock, h.php_params('status', self.docroot, query='json'))
        code, headers, body = h.parse_cgi_response(out)
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body)['pool'], 'www')
        out, _err, _ = h.fcgi_request(sock, h.php_params('ping', self.docroot))
        self.assertEqual(h.parse_cgi_response(out)[2], b'pong')
        # Only the status and ping pages there: no script runs.
        out, _err, _ = h.fcgi_request(sock, h.php_params('hello.php', self.docroot))
        code, headers, body = h.parse_cgi_response(out)
        self.assertEqual(code, 404)
        self.assertNotIn(b'hello', body)
        # Connections to the status socket are not the pool's accepted connections.
        after = status(self.nginx, 'json').json()['accepted conn']
        self.assertEqual(after - before, 1)

    # --- access.log ----------------------------------------------------------------------------

    def test_access_log(self):
        r = self.nginx.request('GET', '/hello.php?x=1', headers={'Authorization':
                                                                 'Basic dXNlcjpwdw=='})
        self.assertEqual(r.status, 200)
        pattern = re.compile(
            r'^(?P<R>-) - (?P<u>user) (?P<t>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}) '
            r'"(?P<m>GET) (?P<r>/hello\.php)\?(?P<q>x=1)" (?P<s>200) (?P<f>/\S+/hello\.php) '
            r'(?P<d>\d+\.\d{3}) (?P<M>\d+) (?P<C>\d+\.\d\d)% (?P<e>/hello\.php\?x=1) '
            r'(?P<o>yes) (?P<n>www) (?P<l>0) (?P<p>\d+) (?P<P>\d+) '
            r'(?P<T>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)$')
        line = h.wait_until(lambda: [l for l in self.access_lines() if '/hello.php?x=1' in l],
                            5, 0.05, 'the access log line')[-1]
        m = pattern.match(line)
        self.assertIsNotNone(m, line)
        self.assertIn(int(m['p']), self.backend.worker_pids())
        self.assertEqual(int(m['P']), self.backend.pid)
        self.assertGreater(int(m['M']), 0)

    def test_access_log_status_and_suppress_path(self):
        status(self.nginx, 'json')
        self.assertEqual(self.nginx.request('GET', '/quiet.php').status, 200)
        self.assertEqual(self.nginx.request('GET', '/quiet.php?loud=1').status, 200)
        self.assertEqual(self.nginx.request('GET', '/ping').status, 200)
        # A worker writes its line after the response: wait for the last of them.
        h.wait_until(lambda: [l for l in self.access_lines() if '"GET /ping"' in l] and
                     [l for l in self.access_lines() if '/quiet.php?loud=1' in l],
                     5, 0.05, 'the ping and quiet.php?loud=1 lines')
        lines = self.access_lines()
        self.assertTrue([l for l in lines if '"GET /status?json" 200 - ' in l], lines)
        self.assertTrue([l for l in lines if '"GET /quiet.php?loud=1" 200 ' in l], lines)
        self.assertFalse([l for l in lines if '"GET /quiet.php" ' in l], lines)
        # Whole lines: the file is appended to by several workers, one write() per line.
        for l in lines:
            self.assertRegex(l, r'^- - ')


class MaxChildrenTest(unittest.TestCase):
    """Overload an ondemand pool: max children reached counts, the queue shows."""

    def test_max_children_reached(self):
        h.require_tools(nginx=False, fpm=False)
        tmp = h.make_tmp('php-pool-status-mc-')
        try:
            write_scripts(tmp)
            backend = h.PhpPool(tmp, 'pm = ondemand\npm.max_children = 2\n'
                                     'pm.process_idle_timeout = 30s\npm.status_path = /status\n')
            try:
                results = []

                def one():
                    out, _e, _ = h.fcgi_request(backend.socket_path,
                                                h.php_params('sleep.php', tmp, query='ms=700'))
                    results.append(h.parse_cgi_response(out)[0])

                threads = [threading.Thread(target=one) for _ in range(5)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(30)
                self.assertEqual(results, [200] * 5)
                out, _e, _ = h.fcgi_request(backend.socket_path,
                                            h.php_params('status', tmp, query='json'))
                d = json.loads(h.parse_cgi_response(out)[2])
                self.assertGreaterEqual(d['max children reached'], 1, d)
                self.assertEqual(d['process manager'], 'ondemand')
                self.assertLessEqual(d['total processes'], 2)
                self.assertGreaterEqual(d['max active processes'], 2)
            finally:
                backend.stop()
        finally:
            h.remove_tmp(tmp)


class CompareWithPhpFpmTest(unittest.TestCase):
    """The same pool file under php-fpm 8.2 and php-pool: the same keys in every format."""

    def fetch_all(self, backend_cls):
        tmp = h.make_tmp('php-pool-status-cmp-')
        try:
            write_scripts(tmp)
            # php-fpm 8.2 (8.2.36 checked) sometimes dies of SIGSEGV in fpm_get_status() when
            # access.log is set: compare without an access log.
            b = backend_cls(tmp, pool_text(tmp, access_log=False))
            try:
                out = {}
                for q in ('json', 'json&full', 'xml&full', 'full', 'html&full',
                          'openmetrics'):
                    raw, _e, _ = h.fcgi_request(b.socket_path, h.php_params('status', tmp,
                                                                             query=q))
                    code, headers, body = h.parse_cgi_response(raw)
                    self.assertEqual(code, 200)
                    out[q] = (dict(headers), body.decode())
                for attempt in range(5):
                    try:
                        raw, _e, _ = h.fcgi_request(b.socket_path, h.php_params('gs.php', tmp))
                        break
                    except ConnectionError:
                        # php-fpm 8.2's fpm_get_status() sometimes kills its worker; it
                        # starts another
                        if backend_cls is not h.PhpFpm or attempt == 4:
                            raise
                        time.sleep(0.3)
                out['gs'] = ({}, h.parse_cgi_response(raw)[2].decode())
                raw, _e, _ = h.fcgi_request(b.socket_path, h.php_params('ping', tmp))
                out['ping'] = (dict(h.parse_cgi_response(raw)[1]), h.parse_cgi_response(raw)[2])
                return out
            finally:
                b.stop()
        finally:
            h.remove_tmp(tmp)

    def test_same_keys_as_php_fpm(self):
        h.require_tools(nginx=False, fpm=True)
        fpm = self.fetch_all(h.PhpFpm)
        pool = self.fetch_all(h.PhpPool)
        for q in ('json', 'json&full', 'xml&full', 'full', 'html&full', 'openmetrics'):
            self.assertEqual(pool[q][0], fpm[q][0], 'headers of ?%s' % q)
        # json
        self.assertEqual(list(json.loads(pool['json'][1])), list(json.loads(fpm['json'][1])))
        jp, jf = json.loads(pool['json&full'][1]), json.loads(fpm['json&full'][1])
        self.assertEqual(list(jp), list(jf))
        keys = lambda rows: sorted({tuple(r) for r in rows})  # rows: how many depends on timing
        self.assertEqual(keys(jp['processes']), keys(jf['processes']))
        self.assertEqual(keys(jp['processes']), [tuple(PROC_KEYS)])
        # xml
        xp, xf = ET.fromstring(pool['xml&full'][1]), ET.fromstring(fpm['xml&full'][1])
        self.assertEqual([c.tag for c in xp], [c.tag for c in xf])
        self.assertEqual(keys([c.tag for c in p] for p in xp.find('processes')),
                         keys([c.tag for c in p] for p in xf.find('processes')))
        # plain
        pp, pf = parse_plain(pool['full'][1]), parse_plain(fpm['full'][1])
        self.assertEqual(list(pp[0]), list(pf[0]))
        self.assertEqual(keys(pp[1]), keys(pf[1]))
        # html
        hp, hf = HtmlTables(), HtmlTables()
        hp.feed(pool['html&full'][1])
        hf.feed(fpm['html&full'][1])
        self.assertEqual([r[0] for r in hp.tables[0]], [r[0] for r in hf.tables[0]])
        self.assertEqual(hp.tables[1][0], hf.tables[1][0])
        # openmetrics: the same families (php-fpm's counters lack _total on their samples)
        fam = lambda text: [l.split()[2] for l in text.splitlines() if l.startswith('# TYPE')]
        self.assertEqual(fam(pool['openmetrics'][1]), fam(fpm['openmetrics'][1]))
        # fpm_get_status()
        gp, gf = json.loads(pool['gs'][1]), json.loads(fpm['gs'][1])
        self.assertEqual(list(gp), list(gf))
        self.assertEqual(keys(gp['procs']), keys(gf['procs']))
        self.assertEqual(keys(gp['procs']), [tuple(GET_STATUS_PROC_KEYS)])
        # ping: byte for byte
        self.assertEqual(pool['ping'], fpm['ping'])


if __name__ == '__main__':
    unittest.main(verbosity=2)
