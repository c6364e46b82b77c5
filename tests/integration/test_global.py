"""The [global] section's process limits: rlimit_files and process.priority apply to the manager
and so to every worker, process.max caps the number of workers."""

import unittest

import harness
from harness import StackTestCase, backend_factory


class GlobalLimitsTest(StackTestCase):
    POOL_INI = 'pm = static\npm.max_children = 4\n'
    GLOBAL_INI = 'rlimit_files = 4321\nprocess.priority = 5\nprocess.max = 2\n'

    @classmethod
    def start_backend(cls):
        return backend_factory()(cls.tmp, cls.POOL_INI, global_ini_text=cls.GLOBAL_INI)

    def test_rlimit_files_and_priority_reach_workers(self):
        j = self.get('/limits.php').json()
        self.assertEqual(j['limits']['nofile'], ['4321', '4321'])
        self.assertEqual(j['nice'], 5)

    def test_process_max_caps_workers(self):
        harness.wait_until(lambda: len(self.backend.worker_pids()) == 2, 5,
                           what='process.max = 2 workers')


if __name__ == '__main__':
    unittest.main(verbosity=2)
