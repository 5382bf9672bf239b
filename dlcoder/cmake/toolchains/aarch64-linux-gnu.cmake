# CMake toolchain file: cross-compile for 64-bit Arm Linux with the aarch64-linux-gnu GCC of
# Debian/Ubuntu (apt-get install g++-aarch64-linux-gnu) and run the tests under qemu-user
# (apt-get install qemu-user). It ships in the wheel beside DLCoderConfig.cmake:
#
#   cmake -S . -B build-arm64 -DDLCoder_DIR=$(python -m dlcoder --cmake-dir) \
#         -DCMAKE_TOOLCHAIN_FILE=$(python -m dlcoder --cmake-dir)/toolchains/aarch64-linux-gnu.cmake
#
# ctest runs target binaries through CMAKE_CROSSCOMPILING_EMULATOR. Programs, such as the
# Python interpreter that runs dlcoder's generator, are still found on the build host.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/usr/aarch64-linux-gnu)

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
