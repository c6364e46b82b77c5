#!/usr/bin/env python3
"""man_options.py PHP_POOL PAGE: every long option `PHP_POOL --help` prints is documented in PAGE.

In roff a '-' is usually written '\\-'; the page's text is compared with those escapes removed.
"""
import re
import subprocess
import sys


def main() -> int:
    exe, page = sys.argv[1], sys.argv[2]
    help_text = subprocess.run([exe, "--help"], check=True, capture_output=True, text=True).stdout
    options = sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", help_text)))
    if not options:
        print("no long option found in --help output", file=sys.stderr)
        return 1
    with open(page, encoding="utf-8") as f:
        text = f.read().replace("\\-", "-").replace("\\fB", "").replace("\\fR", "").replace("\\fI", "")
    missing = [o for o in options if not re.search(re.escape(o) + r"(?![\w-])", text)]
    for o in missing:
        print(f"{page}: long option {o} of --help is not documented", file=sys.stderr)
    print(f"{len(options) - len(missing)}/{len(options)} long options documented: {' '.join(options)}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
