"""Entry point of Bazel's DlcoderGenerate action: `python3 -m dlcoder`, isolated.

Bazel puts the pinned wheels (@dlcoder_pip) and the dlcoder sources on PYTHONPATH. The
interpreter's own site-packages come after them on sys.path; they are dropped here, so a
package missing from rules/requirements_lock.txt fails to import instead of being taken
from the machine.
"""
import contextlib
import io
import site
import sys


def _drop_site_packages() -> None:
    site_dirs = tuple(site.getsitepackages() + [site.getusersitepackages()])
    sys.path[:] = [p for p in sys.path if not p.startswith(site_dirs)]


if __name__ == "__main__":
    _drop_site_packages()
    from dlcoder.cli import main

    # Bazel prints an action's output on every build; keep "wrote ..." for failures only.
    with contextlib.redirect_stdout(io.StringIO()) as out:
        rc = main()
    if rc != 0:
        sys.stderr.write(out.getvalue())
    sys.exit(rc)
