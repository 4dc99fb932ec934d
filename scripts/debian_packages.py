"""Install a Debian package a test needs, the way CI gets it (used by ``make test``).

:func:`ensure` returns at once when the program is on PATH. Otherwise, as root on a Debian or
Ubuntu machine (as CI runs), it installs the package with ``apt-get``; anywhere else it prints
the command to run, and the tests that need the program skip with that reason. It never fails
the build itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def ensure(*, program: str, package: str, purpose: str, skip_env: str) -> bool:
    """Make ``program`` available by installing Debian's ``package`` if needed. ``purpose`` names
    the tests that need it (for messages); setting the environment variable ``skip_env`` turns the
    install off. Returns True when ``program`` is on PATH afterwards."""
    if shutil.which(program):
        return True
    tag = f"ensure {package}"
    if os.environ.get(skip_env) or os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"{tag}: no {program}; {purpose} will be skipped (install it with: sudo apt-get install -y {package})",
              file=sys.stderr)
        return False
    print(f"{tag}: installing Debian's {package} for {purpose} (apt-get)...", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]):
        if subprocess.call(cmd, env=env, stdout=subprocess.DEVNULL) != 0:
            print(f"{tag}: {' '.join(cmd)} failed; {purpose} will be skipped", file=sys.stderr)
            return False
    return shutil.which(program) is not None
