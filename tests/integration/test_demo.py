"""README's run command: scripts/demo.sh starts the demo pool behind nginx on 127.0.0.1:8080, a
person can curl it, and `scripts/demo.sh stop` stops it."""

import os
import subprocess
import unittest
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DEMO = os.path.join(ROOT, 'scripts', 'demo.sh')


def get(path):
    with urllib.request.urlopen('http://127.0.0.1:8080' + path, timeout=10) as r:
        return r.status, r.read().decode()


@unittest.skipUnless(os.geteuid() == 0 and os.path.isdir(os.path.join(ROOT, 'build')),
                     'needs root and the build directory of scripts/test.sh')
class DemoTest(unittest.TestCase):
    def test_run_command_serves_php(self):
        subprocess.run(['bash', DEMO], check=True, stdout=subprocess.DEVNULL, timeout=600)
        try:
            status, body = get('/index.php/some/path?x=1')
            self.assertEqual(status, 200)
            self.assertIn('Hello from php-pool!', body)
            self.assertIn('SAPI:        fpm-fcgi', body)
            self.assertIn('path info:   /some/path', body)
            self.assertIn('(user www-data)', body)
            self.assertEqual(get('/ping'), (200, 'pong'))
            self.assertIn('pool:                 demo', get('/status')[1])
        finally:
            subprocess.run(['bash', DEMO, 'stop'], check=True, stdout=subprocess.DEVNULL)
        with self.assertRaises(OSError):
            get('/ping')


if __name__ == '__main__':
    unittest.main(verbosity=2)
