#!/usr/bin/python3
"""Per-request cost of one worker, php-pool next to php-fpm, without nginx or wrk in the way.

    python3 bench/profile.py cpu       [--script hello] [-n 5000]   CPU ns/request (schedstat)
    python3 bench/profile.py strace    [--script hello] [-n 2000]   syscalls per request
    python3 bench/profile.py callgrind [--script hello] [-n 300]    instructions per request

Each backend runs with pm = static and one child (same pool file and php.ini copies as
bench.py); requests go straight to its unix socket from a small FastCGI client, one at a time,
with the CGI variables nginx sends. `callgrind` runs the backend under valgrind, zeroes the
counters after a warm-up (callgrind_control -z), and keeps the dumps in --out for
callgrind_annotate.
"""

import argparse
import glob
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

SCRIPTS = {
    'hello': ('/hello.php', ''),
    'page': ('/page.php', 'name=bench&items=12'),
    'cpu': ('/cpu.php', ''),
    'app': ('/app/product/17', ''),  # bench/app/index.php, with a session cookie
    'post': ('/post.php', ''),  # a 64 KB body, as bench.py's post.lua sends
    'sleep': ('/sleep.php', ''),  # usleep(50 ms): what a request that waits costs
}
POST_BODY = b'0123456789abcdef' * 4096


class Client:
    """Sends the same FastCGI GET over and over (a new connection each time, as nginx does)."""

    def __init__(self, sock_path, script):
        uri, query = SCRIPTS[script]
        if script == 'app':
            params = bench.nginx_params(os.path.join(bench.APP, 'index.php'), uri, query)
            params[b'SCRIPT_NAME'] = b'/app/index.php'
            params[b'HTTP_COOKIE'] = b'PHPSESSID=benchprofile0000000000000001'
        else:
            params = bench.nginx_params(os.path.join(bench.WWW, uri.lstrip('/')), uri, query)
        stdin = b''
        if script == 'post':
            params[b'REQUEST_METHOD'] = b'POST'
            params[b'CONTENT_TYPE'] = b'application/octet-stream'
            params[b'CONTENT_LENGTH'] = str(len(POST_BODY)).encode()
            for off in range(0, len(POST_BODY), 32768):  # nginx sends 32 KB records
                stdin += bench._record(5, 1, POST_BODY[off:off + 32768])
        body = b''.join(bench._nv(k, v) for k, v in params.items())
        self.msg = (bench._record(1, 1, struct.pack('!HB5x', 1, 0)) + bench._record(4, 1, body)
                    + bench._record(4, 1) + stdin + bench._record(5, 1))
        self.path = sock_path

    def one(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.path)
            s.sendall(self.msg)
            data = b''
            while True:
                c = s.recv(65536)
                if not c:
                    break
                data += c
            if b'\x01\x03\x00\x01' not in data:  # END_REQUEST for request 1
                raise RuntimeError('no END_REQUEST: %r' % data[:200])
        finally:
            s.close()

    def run(self, n):
        for _ in range(n):
            self.one()


def schedstat_ns(pid):
    with open('/proc/%d/schedstat' % pid) as f:
        return int(f.read().split()[0])


def start(kind, tmp, ini, pool_bin, wrapper=(), seccomp=None, pool_lines=()):
    extra = []
    if kind == 'pool' and seccomp:
        extra.append('sandbox.seccomp = %s' % seccomp)
    if kind == 'pool':
        extra += list(pool_lines)
    b = bench.Backend(kind, tmp, ini, pool_bin, name='%s-%d' % (kind, time.monotonic_ns()),
                      children=1, wrapper=wrapper, extra_pool=extra)
    b.wait_ready(timeout=120)
    return b


def the_worker(b):
    """The worker process (under valgrind the manager's child may be valgrind's own pid)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        w = b.workers()
        if w:
            return w[0]
        time.sleep(0.05)
    raise RuntimeError('%s: no worker' % b.name)


def do_cpu(args, tmp, ini):
    for rep in range(args.repeat):
        for kind in args.backends:
            b = start(kind, tmp, ini, args.pool_bin, seccomp=args.seccomp,
                      pool_lines=args.pool_line)
            try:
                c = Client(b.socket, args.script)
                c.run(200)
                pids = [b.pid] + b.workers()
                before = sum(schedstat_ns(p) for p in pids)
                t0 = time.monotonic()
                c.run(args.n)
                wall = time.monotonic() - t0
                after = sum(schedstat_ns(p) for p in pids)
                print('%-4s %-6s CPU %7.1f µs/request (manager + worker), wall %6.1f µs/request'
                      % (kind, args.script, (after - before) / 1e3 / args.n, wall * 1e6 / args.n))
            finally:
                b.stop()


def do_strace(args, tmp, ini):
    for kind in args.backends:
        b = start(kind, tmp, ini, args.pool_bin, seccomp=args.seccomp,
                  pool_lines=args.pool_line)
        try:
            c = Client(b.socket, args.script)
            c.run(100)
            w = the_worker(b)
            out = os.path.join(tmp, 'strace-%s.txt' % kind)
            st = subprocess.Popen(['strace', '-c', '-f', '-o', out, '-p', str(w)],
                                  stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            c.run(args.n)
            time.sleep(0.2)
            st.send_signal(signal.SIGINT)
            st.wait()
            print('== %s: syscalls per request (%s, %d requests)' % (kind, args.script, args.n))
            total = 0.0
            with open(out) as f:
                for line in f:
                    m = re.match(r'\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$', line)
                    if m and m.group(2) != 'total':
                        per = int(m.group(1)) / args.n
                        total += per
                        if per >= 0.01:
                            print('   %6.2f %s' % (per, m.group(2)))
            print('   %6.2f total' % total)
        finally:
            b.stop()


def count_calls(dump, wanted):
    """How often the functions in `wanted` were called, from a callgrind dump."""
    names = {}
    counts = {w: 0 for w in wanted}
    callee = None
    with open(dump) as f:
        for line in f:
            m = re.match(r'(c?fn)=\((\d+)\)(?: (.*))?', line)
            if m:
                if m.group(3):
                    names[m.group(2)] = m.group(3).strip()
                if m.group(1) == 'cfn':
                    callee = names.get(m.group(2))
                continue
            m = re.match(r'calls=(\d+)', line)
            if m and callee in counts:
                counts[callee] += int(m.group(1))
    return counts


def self_cost_by_object(dump):
    """Instructions each ELF object executed itself (not in what it called), from a dump."""
    names, costs = {}, {}
    obj, after_call = None, False
    with open(dump) as f:
        for line in f:
            m = re.match(r'(c?ob)=\((\d+)\)(?: (.*))?', line)
            if m:
                if m.group(3):
                    names[m.group(2)] = os.path.basename(m.group(3).strip())
                if m.group(1) == 'ob':
                    obj = names.get(m.group(2))
                continue
            if line.startswith('calls='):
                after_call = True  # the next cost line is the call's inclusive cost
                continue
            m = re.match(r'[+\-*\d]\S*\s+(\d+)', line)
            if m:
                if not after_call and obj:
                    costs[obj] = costs.get(obj, 0) + int(m.group(1))
                after_call = False
    return costs


def do_callgrind(args, tmp, ini):
    os.makedirs(args.out, exist_ok=True)
    for kind in args.backends:
        prefix = os.path.join(args.out, 'callgrind.%s.%s' % (args.script, kind))
        for f in glob.glob(prefix + '.*'):
            os.unlink(f)
        wrapper = ['valgrind', '--tool=callgrind', '--trace-children=yes',
                   '--callgrind-out-file=%s.%%p' % prefix]
        # valgrind cannot load a seccomp filter: php-pool runs without one there.
        b = start(kind, tmp, ini, args.pool_bin, wrapper, seccomp='off',
                  pool_lines=args.pool_line)
        try:
            c = Client(b.socket, args.script)
            c.run(args.warmup)
            w = the_worker(b)
            subprocess.run(['callgrind_control', '-z', str(w)], check=True,
                           stdout=subprocess.DEVNULL)
            c.run(args.n)
            subprocess.run(['callgrind_control', '-d', 'measured', str(w)], check=True,
                           stdout=subprocess.DEVNULL)
            dumps = sorted(glob.glob('%s.%d.*' % (prefix, w)))
            if not dumps:
                raise RuntimeError('no callgrind dump for %d' % w)
            dump = dumps[-1]
            r = subprocess.run(['callgrind_annotate', '--threshold=100', '--inclusive=no', dump],
                               capture_output=True, text=True)
            m = re.search(r'^([\d,]+).*PROGRAM TOTALS', r.stdout, re.M)
            total = int(m.group(1).replace(',', '')) if m else 0
            print('== %s: %.0f instructions per request (%s, %d requests); dump %s'
                  % (kind, total / args.n, args.script, args.n, dump))
            calls = count_calls(dump, ('malloc', 'free', 'operator new(unsigned long)'))
            print('   calls per request: %s' % ', '.join('%s %.1f' % (k, v / args.n)
                                                        for k, v in calls.items()))
            # Which code runs: the engine (libphp8.2.so, or php-fpm's own binary, which holds
            # both the engine and php-fpm), php-pool's own code, libc ...
            by_obj = sorted(self_cost_by_object(dump).items(), key=lambda kv: -kv[1])
            print('   by object: %s' % ', '.join('%s %.0f' % (o, c / args.n)
                                                 for o, c in by_obj if c / args.n >= 100))
            lines = r.stdout.splitlines()
            start_i = next((i for i, l in enumerate(lines) if 'file:function' in l), None)
            if start_i is not None:
                for l in lines[start_i + 2:start_i + 6 + args.top]:
                    m = re.match(r'\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*)', l)
                    if m and '(below main)' not in l and '__libc_start_main' not in l and \
                            float(m.group(2)) < 99.9:
                        ir = int(m.group(1).replace(',', '')) / args.n
                        print('   %9.0f  %5s%%  %s' % (ir, m.group(2), m.group(3)[:110]))
        finally:
            b.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('mode', choices=['cpu', 'strace', 'callgrind'])
    ap.add_argument('--script', default='hello', choices=sorted(SCRIPTS))
    ap.add_argument('-n', type=int, default=0, help='requests measured')
    ap.add_argument('--repeat', type=int, default=2, help='cpu: runs per backend')
    ap.add_argument('--seccomp', default=None,
                    help='php-pool: sandbox.seccomp for cpu/strace (default: the pool default)')
    ap.add_argument('--warmup', type=int, default=50, help='callgrind: requests before counting')
    ap.add_argument('--top', type=int, default=30, help='callgrind: functions listed')
    ap.add_argument('--out', default=os.path.join(tempfile.gettempdir(), 'php-pool-callgrind'))
    ap.add_argument('--pool-bin', default=os.environ.get('PHP_POOL_BIN',
                                                          '/tmp/build-bench/src/php-pool'))
    ap.add_argument('--only', choices=['fpm', 'pool'], help='profile one backend only')
    ap.add_argument('--pool-line', action='append', default=[], metavar='"KEY = VALUE"',
                    help="one more line in php-pool's pool file (repeatable), for A/B checks")
    args = ap.parse_args()
    args.backends = [args.only] if args.only else ['fpm', 'pool']
    if not args.n:
        args.n = {'cpu': 5000, 'strace': 2000, 'callgrind': 300}[args.mode]
    tmp = tempfile.mkdtemp(prefix='php-pool-profile-')
    try:
        ini = bench.php_ini_dir(tmp)
        {'cpu': do_cpu, 'strace': do_strace, 'callgrind': do_callgrind}[args.mode](args, tmp, ini)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
