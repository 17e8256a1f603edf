"""The package's build. A regular install (a wheel) compiles the correlating process's modules
with mypyc into C extensions where the build can (a C compiler and Python's headers at hand);
otherwise, and always in an editable install (so that the source is what runs), the package
is installed as the plain Python it is. Both give the same frames; compiled, the correlator
takes about a sixth less CPU (``bench/README.md``). ``MAILTLS_PURE=1`` asks for plain Python.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

# Plain Python importing nothing beyond the standard library and the package's own modules,
# so that mypyc needs no third-party stubs at build time.
COMPILED = [
    "analyzer/logs/block_feed.py",
    "analyzer/logs/correlate.py",
    "analyzer/logs/delivery_rows.py",
    "analyzer/logs/notices.py",
    "analyzer/logs/sessions.py",
    "analyzer/logs/taxonomy.py",
]
# The commands that build a wheel or extensions (not egg_info, not editable_wheel)
_BUILDS = {"bdist_wheel", "build", "build_ext"}


def extensions() -> list[Any]:
    """The C extensions to build, or none (plain Python)."""
    if os.environ.get("MAILTLS_PURE") or not _BUILDS & set(sys.argv[1:]):
        return []
    try:
        from mypyc.build import mypycify

        # imports of the compiled modules are followed but not checked again here
        # (``mypy --strict analyzer`` checks the whole package)
        options = ["--follow-imports=silent", "--ignore-missing-imports"]
        return mypycify([*options, *COMPILED], opt_level="3", group_name="mailtls")
    except (Exception, SystemExit) as exc:  # type checking or code generation failed
        _plain(exc)
        return []


def _plain(why: BaseException) -> None:
    """Say that the package is installed as plain Python, and why."""
    print(f"mailtls: modules not compiled ({why!r}); plain Python", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """``build_ext`` that installs plain Python when compiling fails (no C compiler, no
    Python headers): every extension built so far is removed, none half installed."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # distutils' errors have no common base but Exception
            _plain(exc)
            for path in self.get_outputs():
                if os.path.exists(path):
                    os.remove(path)


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
