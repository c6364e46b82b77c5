"""README "Beyond one machine": conf.d/examples/nginx-upstream.conf in front of two php-pool
pools, as one nginx balances a site over several hosts (here two pools with their own sockets
on one machine).

- requests are spread over both pools (round robin: each pool's manager answers);
- a PHP session started through one pool is read through the other, because both pools save
  sessions in the same place (one directory here; Redis or memcached through PHP's own session
  handlers across hosts);
- with one pool stopped, every request is served by the other (fastcgi_next_upstream).
"""

import json
import os
import signal
import unittest

import harness
from harness import PhpPool, make_tmp, remove_tmp
from test_frontends import ExampleNginx

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(harness.HERE)), 'conf.d', 'examples')

PAGE = '''<?php
session_start();
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
header('Content-Type: application/json');
echo json_encode(['manager' => posix_getppid(), 'n' => $_SESSION['n']]);
'''


class UpstreamNginx(ExampleNginx):
    """nginx-upstream.conf (its upstream and server block) in a minimal nginx.conf."""

    def __init__(self, tmp, sockets, docroot):
        self.sockets = sockets
        super().__init__(tmp, sockets[0], docroot)

    def site_text(self):
        with open(os.path.join(EXAMPLES, 'nginx-upstream.conf')) as f:
            site = f.read()
        return (site.replace('/run/php-pool/SITE.sock', self.sockets[0])
                .replace('/run/php-pool/SITE-b.sock', self.sockets[1])
                .replace('/var/www/SITE', self.docroot))


class ScaleOutTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        harness.require_tools(nginx=True, fpm=False)
        cls.tmp = make_tmp('php-pool-scaleout-')
        cls.pools, cls.nginx = [], None
        try:
            www = os.path.join(cls.tmp, 'www')
            sessions = os.path.join(cls.tmp, 'sessions')
            os.makedirs(www)
            os.makedirs(sessions)
            with open(os.path.join(www, 'count.php'), 'w') as f:
                f.write(PAGE)
            pool_ini = ('pm = static\npm.max_children = 2\n'
                        'php_admin_value[session.save_path] = %s\n' % sessions)
            for name in ('a', 'b'):
                d = os.path.join(cls.tmp, name)
                os.makedirs(d)
                cls.pools.append(PhpPool(d, pool_ini))
            cls.nginx = UpstreamNginx(cls.tmp, [p.socket_path for p in cls.pools], www)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.nginx:
            cls.nginx.stop()
        for p in cls.pools:
            p.stop()
        remove_tmp(cls.tmp)

    def get(self, cookie=None):
        r = self.nginx.request('GET', '/count.php', {'Cookie': cookie} if cookie else None)
        self.assertEqual(r.status, 200, r.body[:500])
        return json.loads(r.body), r.headers.get('Set-Cookie')

    def test_1_both_pools_serve_and_share_the_session(self):
        first, set_cookie = self.get()
        self.assertIsNotNone(set_cookie)
        cookie = set_cookie.split(';')[0]
        seen, counts = {first['manager']}, [first['n']]
        for _ in range(7):
            j, _ = self.get(cookie)
            seen.add(j['manager'])
            counts.append(j['n'])
        self.assertEqual(seen, {p.pid for p in self.pools}, 'both pools answered')
        self.assertEqual(counts, list(range(1, 9)), 'one session across both pools')

    def test_2_a_stopped_pool_is_skipped(self):
        self.pools[1].stop(signal.SIGTERM)
        survivors = {self.get()[0]['manager'] for _ in range(6)}
        self.assertEqual(survivors, {self.pools[0].pid})


if __name__ == '__main__':
    unittest.main(verbosity=2)
