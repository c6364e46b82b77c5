#!/usr/bin/env python3
"""man_options.py PHP_POOL PAGE: every option `PHP_POOL --help` prints is documented in PAGE, and
`--version` names the version PAGE's .TH line does.

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
    # The short options too (-t, -tt, -y, -c, -d, -R, -F, ...), written \-x in roff.
    shorts = sorted(set(re.findall(r"(?<![\w-])-[a-zA-Z]{1,2}(?=[ ,\n])", help_text)))
    missing_short = [o for o in shorts if not re.search(r"\.B[RI]? " + re.escape(o) + r"\b", text)
                     and not re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w-])", text)]
    for o in missing_short:
        print(f"{page}: short option {o} of --help is not documented", file=sys.stderr)
    print(f"{len(shorts) - len(missing_short)}/{len(shorts)} short options documented: {' '.join(shorts)}")
    # --version names the version the page's .TH line names ("php-pool X.Y.Z").
    version = subprocess.run([exe, "--version"], check=True, capture_output=True, text=True).stdout.strip()
    th = re.search(r'^\.TH .*"(php-pool [^"]+)"', text, re.M)
    same = th is not None and th.group(1) == version
    if not same:
        print(f"{page}: .TH names {th.group(1) if th else None!r}, --version says {version!r}", file=sys.stderr)
    print(f"--version: {version!r}, .TH: {th.group(1) if th else None!r}")
    return 1 if missing or missing_short or not same else 0


if __name__ == "__main__":
    sys.exit(main())
