"""catch_workers_output / decorate_workers_output: what a script writes to its stderr or stdout
stream reaches the pool log (decorated as php-fpm does), or nowhere when not caught."""

import re
import unittest

from harness import StackTestCase, wait_until


class CaughtDecorated(StackTestCase):
    POOL_INI = ('pm = static\npm.max_children = 1\ncatch_workers_output = yes\n'
                'decorate_workers_output = yes\n')

    def test_stderr_line_is_logged_with_pid(self):
        r = self.get('/stdio.php?msg=decorated-marker')
        self.assertEqual(r.status, 200)
        pid = int(r.text)
        wait_until(lambda: re.search(r'child %d said into stderr: "decorated-marker err"' % pid,
                                     self.backend.log_text()), 5, what='decorated stderr line')
        wait_until(lambda: re.search(r'child %d said into stdout: "decorated-marker out"' % pid,
                                     self.backend.log_text()), 5, what='decorated stdout line')

    def test_text_without_newline_is_logged_while_the_worker_lives(self):
        r = self.get('/stdio.php?msg=unfinished-marker&partial=1')
        pid = int(r.text)
        wait_until(lambda: re.search(r'child %d said into stderr: "unfinished-marker partial"'
                                     % pid, self.backend.log_text()), 5, what='the partial line')


class CaughtUndecorated(StackTestCase):
    POOL_INI = ('pm = static\npm.max_children = 1\ncatch_workers_output = yes\n'
                'decorate_workers_output = no\n')

    def test_stderr_line_is_logged_verbatim(self):
        self.assertEqual(self.get('/stdio.php?msg=plain-marker').status, 200)
        wait_until(lambda: 'plain-marker err' in self.backend.log_text(), 5,
                   what='undecorated stderr line')
        self.assertNotRegex(self.backend.log_text(), r'said into stderr: "plain-marker')
        # as php-fpm writes it: the line alone, no time, level or pool before it (log
        # shippers read JSON lines a script writes to stderr)
        self.assertRegex(self.backend.log_text(), r'(?m)^plain-marker err$')


class NotCaught(StackTestCase):
    POOL_INI = 'pm = static\npm.max_children = 1\ncatch_workers_output = no\n'

    def test_output_is_discarded(self):
        self.assertEqual(self.get('/stdio.php?msg=lost-marker').status, 200)
        # a request after it proves the first one finished and any output had time to arrive
        self.assertEqual(self.get('/stdio.php?msg=second').status, 200)
        self.assertNotIn('lost-marker', self.backend.log_text())


if __name__ == '__main__':
    unittest.main(verbosity=2)
