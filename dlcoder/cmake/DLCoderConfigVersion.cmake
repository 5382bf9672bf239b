# Version file of the DLCoder CMake package (see DLCoderConfig.cmake).
#
# The version is read from the Python package this folder belongs to (dlcoder/__init__.py),
# so it cannot drift from the generator that will run. Compatibility follows semantic
# versioning: the same major version (the same minor one while the major is 0) and at least
# the requested version; a version range `find_package(DLCoder 0.1...0.3)` is honoured too.

file(STRINGS "${CMAKE_CURRENT_LIST_DIR}/../__init__.py" _dlcoder_version_line
     REGEX "^__version__ *= *[\"'][^\"']+[\"']")
string(REGEX REPLACE "^__version__ *= *[\"']([^\"']+)[\"'].*$" "\\1" PACKAGE_VERSION
       "${_dlcoder_version_line}")
unset(_dlcoder_version_line)

if(NOT PACKAGE_VERSION MATCHES "^([0-9]+)\\.([0-9]+)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
  set(PACKAGE_VERSION "unknown")
  return()
endif()
set(_dlcoder_major "${CMAKE_MATCH_1}")
set(_dlcoder_minor "${CMAKE_MATCH_2}")

set(PACKAGE_VERSION_COMPATIBLE FALSE)
set(PACKAGE_VERSION_EXACT FALSE)
if(PACKAGE_FIND_VERSION_RANGE)
  if(PACKAGE_VERSION VERSION_GREATER_EQUAL PACKAGE_FIND_VERSION_MIN
     AND ((PACKAGE_FIND_VERSION_RANGE_MAX STREQUAL "INCLUDE"
           AND PACKAGE_VERSION VERSION_LESS_EQUAL PACKAGE_FIND_VERSION_MAX)
          OR (PACKAGE_FIND_VERSION_RANGE_MAX STREQUAL "EXCLUDE"
              AND PACKAGE_VERSION VERSION_LESS PACKAGE_FIND_VERSION_MAX)))
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
  endif()
elseif(PACKAGE_FIND_VERSION)
  if(PACKAGE_VERSION VERSION_GREATER_EQUAL PACKAGE_FIND_VERSION
     AND _dlcoder_major EQUAL PACKAGE_FIND_VERSION_MAJOR
     AND (_dlcoder_major GREATER 0 OR PACKAGE_FIND_VERSION_COUNT LESS 2
          OR _dlcoder_minor EQUAL PACKAGE_FIND_VERSION_MINOR))
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
  endif()
  if(PACKAGE_VERSION VERSION_EQUAL PACKAGE_FIND_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
endif()
unset(_dlcoder_major)
unset(_dlcoder_minor)
