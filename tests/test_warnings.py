"""The generated library compiles without a warning under the flags of strict C++ projects:
-Wall -Wextra -Wpedantic -Wshadow -Werror at -O2 (some warnings, maybe-uninitialized among
them, only appear with optimization), with g++ and with clang, as C++17 and as C++20.
Users compile the generated folder with their own flags; a warning there breaks a -Werror
build that we do not own.

Every model of ../shared/models is generated once and compiled with g++ as C++17 and with
clang as C++20; two models (one integer, one float, between them most kernel headers) also
with the other two combinations.
"""
import shutil
import subprocess
import sys

import pytest

from ci import skip_unless_ci
from support import SHARED_MODELS, require_shared

FLAGS = ("-O2", "-Wall", "-Wextra", "-Wpedantic", "-Wshadow", "-Werror")
MODELS = sorted(p.stem for p in SHARED_MODELS.glob("*.tflite")) if SHARED_MODELS.is_dir() else []
BOTH_WAYS = ("mobilenet_v2_100_224_int8", "efficientnet_b0_224_f32")


def _compiler(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        skip_unless_ci(f"{name} not installed", f"{name} must be installed for CI (.ci/run installs it)")
    return path


def _cases():
    for m in MODELS:
        yield m, "g++", "c++17"
        yield m, "clang++", "c++20"
        if m in BOTH_WAYS:
            yield m, "g++", "c++20"
            yield m, "clang++", "c++17"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """model name -> its generated folder, made on first use."""
    root = tmp_path_factory.mktemp("warnings")
    made = {}

    def get(name):
        if name not in made:
            out = root / name
            subprocess.run([sys.executable, "-m", "dlcoder", "generate", str(SHARED_MODELS / f"{name}.tflite"),
                            "--out-dir", str(out)], check=True, capture_output=True)
            made[name] = out
        return made[name]
    return get


def test_the_suite_is_there():
    require_shared()
    assert len(MODELS) >= 15


@pytest.mark.parametrize("model,cxx,std", list(_cases()))
def test_compiles_warning_free(model, cxx, std, generated):
    tool = _compiler(cxx)
    folder = generated(model)
    sources = sorted(folder.glob("*.cc"))
    assert sources
    for src in sources:
        res = subprocess.run([tool, f"-std={std}", *FLAGS, f"-I{folder}", "-c", str(src), "-o", "/dev/null"],
                             capture_output=True, text=True)
        assert res.returncode == 0 and not res.stderr.strip(), f"{cxx} -std={std}: {res.stderr[:3000]}"
