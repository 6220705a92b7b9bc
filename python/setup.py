"""Builds libcodedtrain and the codedtrain program with the repository's CMake
project and puts both inside the package (codedtrain/_native/), so that
`pip install ./python` needs no hand steps. CODEDTRAIN_BUILD_DIR=DIR takes them
from an existing CMake build directory instead of building (what `make test`
does with its own build)."""
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _artifacts(build_dir):
    lib = sorted(build_dir.glob("libcodedtrain.so.*.*.*")) or sorted(build_dir.glob("libcodedtrain.so*"))
    exe = build_dir / "codedtrain"
    return (lib[0] if lib else None), (exe if exe.is_file() else None)


def _build(build_dir):
    if not (REPO / "CMakeLists.txt").is_file():
        raise RuntimeError(f"codedtrain: no CMakeLists.txt in {REPO}: install from the repository's python/ "
                           "folder, or set CODEDTRAIN_BUILD_DIR to a CMake build of codedtrain")
    jobs = str(os.cpu_count() or 2)
    subprocess.check_call(["cmake", "-S", str(REPO), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release"])
    subprocess.check_call(["cmake", "--build", str(build_dir), "-j", jobs, "--target", "codedtrain_shared",
                           "codedtrain"])


class BuildWithNative(build_py):
    def run(self):
        super().run()
        given = os.environ.get("CODEDTRAIN_BUILD_DIR")
        build_dir = Path(given).resolve() if given else HERE / "build-native"
        if not given:
            _build(build_dir)
        lib, exe = _artifacts(build_dir)
        if lib is None or exe is None:
            raise RuntimeError(f"codedtrain: {build_dir} holds no libcodedtrain.so and codedtrain program "
                               "(build targets codedtrain_shared and codedtrain)")
        native = Path(self.build_lib) / "codedtrain" / "_native"
        native.mkdir(parents=True, exist_ok=True)
        shutil.copy2(lib, native / "libcodedtrain.so")
        shutil.copy2(exe, native / "codedtrain")
        os.chmod(native / "codedtrain", 0o755)


setup(cmdclass={"build_py": BuildWithNative})
