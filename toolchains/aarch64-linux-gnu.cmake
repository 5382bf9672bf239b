# CMake toolchain file for 64-bit Arm Linux, for builds from a source checkout:
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=<dlcoder>/toolchains/aarch64-linux-gnu.cmake
#
# The file itself lives in the package (dlcoder/cmake/toolchains/), so that the wheel ships
# it beside DLCoderConfig.cmake; this one only forwards to it.

include("${CMAKE_CURRENT_LIST_DIR}/../dlcoder/cmake/toolchains/aarch64-linux-gnu.cmake")
