"""Pool-file settings a script can see: php_value / php_admin_value / php_flag, clear_env and
env[], and the httpoxy protection (a "Proxy:" request header never becomes getenv('HTTP_PROXY'))."""

import os
import signal
import time
import unittest

import harness
from harness import StackTestCase


class IniTest(StackTestCase):
    POOL_INI = ('pm = static\npm.max_children = 1\n'
                'php_value[user_agent] = pool-ua\n'
                'php_value[precision] = 10\n'
                'php_admin_value[default_socket_timeout] = 7\n'
                'php_flag[ignore_user_abort] = on\n'
                'php_admin_value[memory_limit] = 48M\n')

    def test_values_visible_in_ini_get(self):
        j = self.get('/ini.php').json()
        self.assertEqual(j['ini']['user_agent'], 'pool-ua')
        self.assertEqual(j['ini']['precision'], '10')
        self.assertEqual(j['ini']['default_socket_timeout'], '7')
        self.assertEqual(j['ini']['ignore_user_abort'], '1')
        self.assertEqual(j['ini']['memory_limit'], '48M')
        # from the harness's common block (php_admin_value)
        self.assertEqual(j['ini']['post_max_size'], '64M')
        # php-fpm parses pool values with PHP's INI scanner: Off → "" (a script testing
        # `if (ini_get('display_errors'))` must see a false value, not the string "Off")
        self.assertEqual(j['ini']['display_errors'], '')

    def test_php_value_changeable_admin_value_not(self):
        j = self.get('/ini.php?set=1').json()
        # ini_set returns the old value on success, false when refused
        self.assertEqual(j['set']['user_agent'], 'pool-ua')
        self.assertEqual(j['ini']['user_agent'], 'changed-by-script')
        self.assertEqual(j['set']['precision'], '10')
        self.assertEqual(j['ini']['precision'], '3')
        self.assertIs(j['set']['default_socket_timeout'], False)
        self.assertEqual(j['ini']['default_socket_timeout'], '7')

    def test_ini_set_does_not_leak_into_next_request(self):
        self.get('/ini.php?set=1')
        j = self.get('/ini.php').json()  # same (only) worker
        self.assertEqual(j['ini']['user_agent'], 'pool-ua')
        self.assertEqual(j['ini']['precision'], '10')
        self.assertEqual(j['ini']['default_socket_timeout'], '7')


class PrecedenceTest(StackTestCase):
    """Settings given twice, as php-fpm takes them: a php_admin_value wins over a php_value of
    the same name wherever it stands (an include a site may edit cannot lift an admin setting),
    and of two lines for one key the first wins."""
    POOL_INI = ('pm = static\npm.max_children = 1\n'
                'php_admin_value[default_socket_timeout] = 7\n'
                'php_value[default_socket_timeout] = 99\n'
                'php_value[precision] = 10\n'
                'php_value[precision] = 11\n'
                'php_flag[ignore_user_abort] = on\n'
                'php_value[ignore_user_abort] = 0\n'
                'env[POOL_FOO] = first\n'
                'env[POOL_FOO] = second\n'
                'env[POOL_FROM_RUNNER] = $NOT_IN_THE_RUNNERS_ENV\n')

    def test_admin_value_wins_over_a_later_php_value(self):
        j = self.get('/ini.php?set=1').json()
        self.assertEqual(j['ini']['default_socket_timeout'], '7')
        self.assertIs(j['set']['default_socket_timeout'], False)  # still locked

    def test_first_of_two_lines_wins(self):
        self.assertEqual(self.get('/ini.php').json()['ini']['precision'], '10')
        # php_flag and php_value fill one list
        self.assertEqual(self.get('/ini.php').json()['ini']['ignore_user_abort'], '1')
        self.assertEqual(self.get('/env.php').json()['getenv']['POOL_FOO'], 'first')

    def test_env_from_a_missing_variable_is_empty(self):
        self.assertEqual(self.get('/env.php').json()['getenv']['POOL_FROM_RUNNER'], '')


@unittest.skipUnless(harness.IS_ROOT, 'switching to the pool user needs root')
class UserEnvTest(StackTestCase):
    """Workers of a pool with a user get that user's USER and HOME (git, composer or ssh run
    from a script look there); env[] still wins."""
    POOL_INI = ('pm = static\npm.max_children = 1\n'
                'user = www-data\ngroup = www-data\n'
                'env[HOME] = /srv/site\n')

    def test_user_and_home(self):
        j = self.get('/env.php').json()
        self.assertEqual(j['getenv']['USER'], 'www-data')
        self.assertEqual(j['getenv']['HOME'], '/srv/site')


class AdminValueReloadTest(harness.BackendTestCase):
    """A reload that changes a php_admin_value: scripts see the new value. opcache folds
    ini_get('x') of a locked setting into the compiled script, kept in its shared memory across
    a reload; php-fpm's reload re-executes its master, which starts opcache afresh."""
    POOL_INI = 'pm = static\npm.max_children = 1\nphp_admin_value[precision] = 5\n'

    def precision(self):
        script = os.path.join(self.tmp, 'precision.php')
        if not os.path.exists(script):
            with open(script, 'w') as f:
                f.write("<?php echo ini_get('precision');")  # a literal name: foldable
            os.utime(script, (time.time() - 60,) * 2)  # opcache caches files older than 2 s
        try:
            out, _e, _ = harness.fcgi_request(self.backend.socket_path,
                                              harness.php_params('precision.php', docroot=self.tmp))
        except OSError:
            return None  # php-fpm re-executing itself
        return harness.parse_cgi_response(out)[2]

    def test_new_value_after_reload(self):
        b = self.backend
        self.assertEqual(self.precision(), b'5')
        self.assertEqual(self.precision(), b'5')  # from opcache now
        with open(b.conf_path) as f:
            text = f.read()
        with open(b.conf_path, 'w') as f:
            f.write(text.replace('php_admin_value[precision] = 5', 'php_admin_value[precision] = 9'))
        b.signal(signal.SIGUSR2)
        harness.wait_until(lambda: self.precision() == b'9', 15, what='precision 9 after the reload')


class ClearEnvTest(StackTestCase):
    POOL_INI = ('pm = static\npm.max_children = 1\n'
                'clear_env = yes\n'
                'env[POOL_FOO] = bar\n'
                'env[POOL_SPACES] = "a b  c"\n'
                'env[POOL_FROM_RUNNER] = $RUNNER_LEAK\n'
                'env[PATH] = /usr/local/bin:/usr/bin:/bin\n')
    BACKEND_ENV = {'RUNNER_LEAK': 'from-the-runner'}

    def test_env_entries_visible_in_getenv(self):
        j = self.get('/env.php').json()
        self.assertEqual(j['getenv']['POOL_FOO'], 'bar')
        self.assertEqual(j['getenv']['POOL_SPACES'], 'a b  c')
        self.assertEqual(j['getenv']['PATH'], '/usr/local/bin:/usr/bin:/bin')
        self.assertTrue(j['getenv_all_has_POOL_FOO'])
        # php-fpm imports the environment into $_SERVER too
        self.assertEqual(j['server_POOL_FOO'], 'bar')

    def test_env_value_expanded_from_manager_environment(self):
        j = self.get('/env.php').json()
        self.assertEqual(j['getenv']['POOL_FROM_RUNNER'], 'from-the-runner')

    def test_clear_env_hides_manager_environment(self):
        j = self.get('/env.php').json()
        self.assertIs(j['getenv']['RUNNER_LEAK'], False)
        self.assertFalse(j['getenv_all_has_RUNNER_LEAK'])

    def test_request_params_visible_in_getenv(self):
        j = self.get('/env.php', {'X-Test': 'xt'}).json()
        self.assertEqual(j['getenv']['REQUEST_METHOD'], 'GET')
        self.assertEqual(j['getenv']['HTTP_X_TEST'], 'xt')
        self.assertEqual(j['getenv']['SCRIPT_FILENAME'], harness.WWW + '/env.php')

    def test_httpoxy(self):
        j = self.get('/env.php', {'Proxy': 'http://evil.invalid:8080'}).json()
        self.assertIs(j['getenv']['HTTP_PROXY'], False)
        self.assertIsNone(j['server_HTTP_PROXY'])


class KeepEnvTest(StackTestCase):
    POOL_INI = 'pm = static\npm.max_children = 1\nclear_env = no\n'
    BACKEND_ENV = {'RUNNER_LEAK': 'kept', 'HTTP_PROXY': 'http://runner-proxy.invalid:3128'}

    def test_clear_env_no_keeps_manager_environment(self):
        j = self.get('/env.php').json()
        self.assertEqual(j['getenv']['RUNNER_LEAK'], 'kept')
        self.assertTrue(j['getenv_all_has_RUNNER_LEAK'])

    def test_httpoxy_header_does_not_override_real_env(self):
        j = self.get('/env.php', {'Proxy': 'http://evil.invalid:8080'}).json()
        self.assertEqual(j['getenv']['HTTP_PROXY'], 'http://runner-proxy.invalid:3128')
        self.assertEqual(j['server_HTTP_PROXY'], 'http://runner-proxy.invalid:3128')


if __name__ == '__main__':
    harness.main()
