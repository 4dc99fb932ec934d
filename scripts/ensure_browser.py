#!/usr/bin/env python
"""Make sure the browser tests have a Chromium (called by ``make test``).

The console's browser tests drive Debian's ``chromium`` through Playwright (never Playwright's
own downloads). When no ``chromium`` is on PATH (and ``CONSOLE_BROWSER`` names none) and this runs
as root on a Debian/Ubuntu machine, it installs the package with ``apt-get`` (as CI does, as
root). Otherwise it prints how to install it; the browser tests then skip with that reason.
Never fails the build itself. ``SKIP_BROWSER_INSTALL=1`` turns the install off.
"""

import os
import shutil
import subprocess
import sys


def main() -> int:
    configured = os.environ.get("CONSOLE_BROWSER")
    if (configured and os.path.exists(configured)) or shutil.which("chromium"):
        return 0
    if os.environ.get("SKIP_BROWSER_INSTALL") or os.geteuid() != 0 or not shutil.which("apt-get"):
        print("ensure_browser: no chromium; browser tests will be skipped "
              "(install it with: sudo apt-get install -y chromium)", file=sys.stderr)
        return 0
    print("ensure_browser: installing Debian's chromium for the browser tests (apt-get)...", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]):
        if subprocess.call(cmd, env=env, stdout=subprocess.DEVNULL) != 0:
            print(f"ensure_browser: {' '.join(cmd)} failed; browser tests will be skipped", file=sys.stderr)
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
