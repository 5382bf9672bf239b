# DLCoder CMake package: compile TensorFlow Lite models into C++ libraries at build time.
#
#   find_package(DLCoder REQUIRED)    # -DDLCoder_DIR=$(python -m dlcoder --cmake-dir)
#   dlcoder_add_library(<target> MODEL <file.tflite> [NAME n] [NAMESPACE ns]
#                       [INPUT_SHAPES name=1x2x3 ...] [CUSTOM_OPS ops.py ...] [HEADERS k.h ...])
#   dlcoder_add_test(<target>)
#
# The commands are documented in DLCoder.cmake; toolchains/ beside this file holds CMake
# toolchain files (aarch64-linux-gnu.cmake). The generator is the Python package this
# folder belongs to; it runs on the build host (also when cross-compiling) with the first
# of these interpreters that imports that very package and its dependencies:
#   1. DLCODER_PYTHON, as a CMake variable or an environment variable (no fallback then);
#   2. the interpreter of the prefix the package is installed in (<prefix>/bin/python3);
#   3. Python3_EXECUTABLE or Python_EXECUTABLE when the project has found Python already;
#   4. the one CMake's FindPython finds: an active virtual environment's, else `python3` on
#      the PATH. Only tried when none of the above works (a source checkout), so that an
#      installed package leaves the project's Python3 cache entries alone.
# Nothing is written into the package folder: `pip uninstall` leaves nothing behind.
# When the interpreter does not import this package by itself (a source checkout), the
# package's parent folder is prepended to PYTHONPATH for the generator. The generator runs
# in this folder, so that no `dlcoder` folder in the current directory shadows the package.
#
# Sets DLCoder_FOUND, DLCoder_VERSION and DLCoder_PYTHON_EXECUTABLE.

if(CMAKE_VERSION VERSION_LESS 3.20)
  set(DLCoder_FOUND FALSE)
  set(DLCoder_NOT_FOUND_MESSAGE "DLCoder needs CMake 3.20 or newer (this is ${CMAKE_VERSION})")
  return()
endif()
cmake_policy(PUSH)
cmake_policy(VERSION 3.20...3.25)

file(REAL_PATH "${CMAKE_CURRENT_LIST_DIR}/.." _dlcoder_package_dir)

# Prints the version, the package folder and whether the TFLite interpreter (needed by
# dlcoder_add_test) is importable; fails when dlcoder or a dependency is missing.
set(_dlcoder_probe [=[
import importlib.util, os
import dlcoder, dlcoder.compiler
print(dlcoder.__version__)
print(os.path.realpath(os.path.dirname(dlcoder.__file__)))
print(int(importlib.util.find_spec("ai_edge_litert") is not None))
]=])

# Sets <out_var> to the command prefix that runs `python -m dlcoder` with this package, or
# to "" and appends the reason to <why_var>. Also sets _dlcoder_version and
# _dlcoder_has_reference.
function(_dlcoder_probe_python python out_var why_var)
  set(why "${${why_var}}")
  set(${out_var} "" PARENT_SCOPE)
  if(NOT EXISTS "${python}")
    string(APPEND why "\n  ${python}: does not exist")
    set(${why_var} "${why}" PARENT_SCOPE)
    return()
  endif()
  cmake_path(GET _dlcoder_package_dir PARENT_PATH pythonpath)
  if(NOT "$ENV{PYTHONPATH}" STREQUAL "")
    cmake_path(CONVERT "${pythonpath};$ENV{PYTHONPATH}" TO_NATIVE_PATH_LIST pythonpath)
  endif()
  foreach(prefix "" "${CMAKE_COMMAND};-E;env;PYTHONPATH=${pythonpath}")
    execute_process(COMMAND ${prefix} "${python}" -c "${_dlcoder_probe}"
                    WORKING_DIRECTORY "${CMAKE_CURRENT_FUNCTION_LIST_DIR}"
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_STRIP_TRAILING_WHITESPACE)
    if(NOT rc EQUAL 0)
      string(REGEX REPLACE "^.*\n" "" err "${err}")
      set(reason "${err} (exit code ${rc})")
      continue()
    endif()
    string(REPLACE "\n" ";" out "${out}")
    list(GET out 1 found_dir)
    file(REAL_PATH "${found_dir}" found_dir)
    if(NOT found_dir STREQUAL _dlcoder_package_dir)
      set(reason "imports dlcoder from ${found_dir}")
      continue()
    endif()
    list(GET out 0 version)
    list(GET out 2 has_reference)
    set(_dlcoder_version "${version}" PARENT_SCOPE)
    set(_dlcoder_has_reference "${has_reference}" PARENT_SCOPE)
    set(${out_var} ${prefix} "${python}" PARENT_SCOPE)
    return()
  endforeach()
  string(APPEND why "\n  ${python}: ${reason}")
  set(${why_var} "${why}" PARENT_SCOPE)
endfunction()

# Interpreters to try when DLCODER_PYTHON is not set, best first (items 2 and 3 at the top).
function(_dlcoder_candidates out_var)
  set(found "")
  # <prefix>/lib/python3.X/site-packages/dlcoder (venv, pyenv, /usr/local),
  # /usr/lib/python3/dist-packages/dlcoder (Debian), <prefix>/Lib/site-packages (Windows).
  cmake_path(GET _dlcoder_package_dir PARENT_PATH site)
  cmake_path(GET site FILENAME site_name)
  if(site_name MATCHES "^(site|dist)-packages$")
    set(prefix "${site}")
    foreach(level RANGE 2)
      cmake_path(GET prefix PARENT_PATH prefix)
      foreach(exe bin/python3 bin/python Scripts/python.exe python.exe)
        if(EXISTS "${prefix}/${exe}")
          list(APPEND found "${prefix}/${exe}")
        endif()
      endforeach()
    endforeach()
  endif()
  foreach(var Python3_EXECUTABLE Python_EXECUTABLE)
    if(${var})
      list(APPEND found "${${var}}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES found)
  set(${out_var} "${found}" PARENT_SCOPE)
endfunction()

# Sets <out_var> to the interpreter CMake's FindPython picks, or to "". Unversioned names
# first: the `python3` a user types, not whichever python3.X sorts highest on the PATH.
function(_dlcoder_find_python out_var)
  set(Python3_FIND_UNVERSIONED_NAMES FIRST)
  find_package(Python3 COMPONENTS Interpreter QUIET)
  set(${out_var} "${Python3_EXECUTABLE}" PARENT_SCOPE)
endfunction()

# Picks the interpreter once per configure run and keeps what the commands need in global
# properties (find_package may run in several directories). Sets <error_var> on failure.
function(_dlcoder_resolve error_var)
  get_property(done GLOBAL PROPERTY DLCODER_PYTHON_COMMAND SET)
  if(done)
    return()
  endif()
  set(why "")
  if(DEFINED DLCODER_PYTHON)
    _dlcoder_probe_python("${DLCODER_PYTHON}" command why)
  elseif(DEFINED ENV{DLCODER_PYTHON})
    _dlcoder_probe_python("$ENV{DLCODER_PYTHON}" command why)
  else()
    _dlcoder_candidates(pythons)
    foreach(python IN LISTS pythons)
      _dlcoder_probe_python("${python}" command why)
      if(command)
        break()
      endif()
    endforeach()
    if(NOT command)
      _dlcoder_find_python(python)
      if(NOT python)
        string(APPEND why "\n  FindPython: found no interpreter")
      elseif(NOT python IN_LIST pythons)
        _dlcoder_probe_python("${python}" command why)
      endif()
    endif()
  endif()
  if(NOT command)
    string(CONCAT message
           "no Python interpreter imports the dlcoder package in ${_dlcoder_package_dir} "
           "with its dependencies. Tried:${why}\n"
           "Set DLCODER_PYTHON to the interpreter that has dlcoder "
           "(-DDLCODER_PYTHON=/path/to/python3).")
    set(${error_var} "${message}" PARENT_SCOPE)
    return()
  endif()
  file(GLOB_RECURSE files LIST_DIRECTORIES false
       "${_dlcoder_package_dir}/*.py" "${_dlcoder_package_dir}/*.j2"
       "${_dlcoder_package_dir}/*.h")
  # Rewritten only when its content changes: a new version or interpreter regenerates.
  set(stamp "${CMAKE_BINARY_DIR}/_dlcoder/generator.stamp")
  string(JOIN " " line "dlcoder" ${_dlcoder_version} ${command})
  set(old_line "")
  if(EXISTS "${stamp}")
    file(READ "${stamp}" old_line)
  endif()
  if(NOT old_line STREQUAL "${line}\n")
    file(WRITE "${stamp}" "${line}\n")
  endif()
  set_property(GLOBAL PROPERTY DLCODER_PYTHON_COMMAND "${command}")
  set_property(GLOBAL PROPERTY DLCODER_WORKING_DIRECTORY "${CMAKE_CURRENT_FUNCTION_LIST_DIR}")
  set_property(GLOBAL PROPERTY DLCODER_GENERATOR_FILES "${files}")
  set_property(GLOBAL PROPERTY DLCODER_STAMP "${stamp}")
  set_property(GLOBAL PROPERTY DLCODER_HAS_REFERENCE "${_dlcoder_has_reference}")
  list(GET command -1 python)
  message(STATUS "DLCoder ${_dlcoder_version}: the generator runs with ${python}")
endfunction()

unset(DLCoder_NOT_FOUND_MESSAGE)
_dlcoder_resolve(DLCoder_NOT_FOUND_MESSAGE)
if(DLCoder_NOT_FOUND_MESSAGE)
  set(DLCoder_FOUND FALSE)
else()
  get_property(DLCoder_PYTHON_EXECUTABLE GLOBAL PROPERTY DLCODER_PYTHON_COMMAND)
  list(GET DLCoder_PYTHON_EXECUTABLE -1 DLCoder_PYTHON_EXECUTABLE)
  # A new package version re-runs the configure step (fresh file list, new stamp).
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               "${_dlcoder_package_dir}/__init__.py")
  # The weights are in .S files (.incbin).
  get_property(_dlcoder_languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  if(NOT "ASM" IN_LIST _dlcoder_languages)
    enable_language(ASM)
  endif()
  unset(_dlcoder_languages)
  include("${CMAKE_CURRENT_LIST_DIR}/DLCoder.cmake")
endif()
unset(_dlcoder_package_dir)
unset(_dlcoder_probe)
cmake_policy(POP)
