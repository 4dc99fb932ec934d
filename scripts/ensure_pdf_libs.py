#!/usr/bin/env python
"""Make sure WeasyPrint finds its system libraries (called by ``make test`` and ``make run``).

Invoices and credit notes are PDFs rendered by WeasyPrint (``commerce.invoices.pdf``), which
loads Pango, HarfBuzz and fontconfig through cffi and needs a font. On Debian or Ubuntu as root
(as CI runs) the missing packages are installed with apt-get; anywhere else this prints the
command to run. ``SKIP_PDF_LIBS_INSTALL=1`` turns the install off. It never fails the build
itself: without the libraries, importing WeasyPrint fails and says which library is missing.
"""

from __future__ import annotations

import ctypes.util
import glob
import os
import shutil
import subprocess
import sys

#: library (as ctypes.util.find_library names it) -> the Debian package that ships it
LIBRARIES = {"pango-1.0": "libpango-1.0-0", "pangoft2-1.0": "libpangoft2-1.0-0",
             "harfbuzz-subset": "libharfbuzz-subset0", "fontconfig": "libfontconfig1"}
FONT_PACKAGE = "fonts-dejavu-core"


def missing_packages() -> list[str]:
    """The Debian packages whose library (or, for fonts, any TrueType font) is not found."""
    packages = [pkg for lib, pkg in LIBRARIES.items() if ctypes.util.find_library(lib) is None]
    if not glob.glob("/usr/share/fonts/**/*.ttf", recursive=True):
        packages.append(FONT_PACKAGE)
    return packages


def main() -> int:
    packages = missing_packages()
    if not packages:
        return 0
    tag = "ensure pdf libs"
    if os.environ.get("SKIP_PDF_LIBS_INSTALL") or os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"{tag}: missing {', '.join(packages)}; invoice PDFs need them "
              f"(install with: sudo apt-get install -y {' '.join(packages)})", file=sys.stderr)
        return 0
    print(f"{tag}: installing {', '.join(packages)} for invoice PDFs (apt-get)...", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
    for cmd in (["apt-get", "update", "-qq"], install):
        if subprocess.call(cmd, env=env, stdout=subprocess.DEVNULL) != 0:
            print(f"{tag}: {' '.join(cmd)} failed", file=sys.stderr)
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
