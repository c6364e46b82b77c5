"""process.sched_policy: the workers' CPU scheduling policy, as a script sees it in /proc.

batch (the default) keeps the nice value and only stops a waking worker from preempting the
task running on its CPU; the manager keeps the policy it was started with. inherit leaves the
workers with the manager's policy, as php-fpm does."""

import os
import unittest

import harness
from harness import PhpPool, StackTestCase

SCHED_OTHER, SCHED_BATCH, SCHED_IDLE = 0, 3, 5


class UnderChrt(PhpPool):
    """php-pool started by `chrt --idle 0`, as CPUSchedulingPolicy=idle in a unit would."""

    def _argv(self, ini_args):
        return ['chrt', '--idle', '0'] + super()._argv(ini_args)


class SchedCase(StackTestCase):
    POOL_INI = 'pm = static\npm.max_children = 2\n'
    START_IDLE = False

    @classmethod
    def setUpClass(cls):
        if harness.is_fpm():
            raise unittest.SkipTest('process.sched_policy is a php-pool directive')
        super().setUpClass()

    @classmethod
    def start_backend(cls):
        return (UnderChrt if cls.START_IDLE else PhpPool)(cls.tmp, cls.POOL_INI)

    def worker_view(self):
        r = self.get('/limits.php')
        self.assertEqual(r.status, 200)
        return r.json()


class DefaultIsBatch(SchedCase):
    POOL_INI = 'pm = static\npm.max_children = 2\nprocess.priority = 3\n'

    def test_workers_run_batch_with_their_nice_value(self):
        j = self.worker_view()
        self.assertEqual(j['policy'], SCHED_BATCH)
        self.assertEqual(j['nice'], 3)
        for w in self.backend.worker_pids():
            self.assertEqual(os.sched_getscheduler(w), SCHED_BATCH)

    def test_manager_keeps_its_own_policy(self):
        self.assertEqual(os.sched_getscheduler(self.backend.pid), SCHED_OTHER)


class OtherUnderAnIdleManager(SchedCase):
    POOL_INI = 'pm = static\npm.max_children = 1\nprocess.sched_policy = other\n'
    START_IDLE = True

    def test_workers_leave_the_managers_idle_policy(self):
        self.assertEqual(os.sched_getscheduler(self.backend.pid), SCHED_IDLE)
        self.assertEqual(self.worker_view()['policy'], SCHED_OTHER)


class InheritUnderAnIdleManager(SchedCase):
    POOL_INI = 'pm = static\npm.max_children = 1\nprocess.sched_policy = inherit\n'
    START_IDLE = True

    def test_workers_keep_the_managers_policy(self):
        self.assertEqual(self.worker_view()['policy'], SCHED_IDLE)


class Idle(SchedCase):
    POOL_INI = 'pm = static\npm.max_children = 1\nprocess.sched_policy = IDLE\n'

    def test_idle_is_honoured(self):
        self.assertEqual(self.worker_view()['policy'], SCHED_IDLE)


if __name__ == '__main__':
    unittest.main(verbosity=2)
