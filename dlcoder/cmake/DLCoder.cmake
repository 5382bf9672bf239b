# dlcoder_add_library() and dlcoder_add_test(); loaded by DLCoderConfig.cmake.
#
# dlcoder_add_library(<target> MODEL <file.tflite> [NAME <n>] [NAMESPACE <ns>]
#                     [INPUT_SHAPES <input>=<d1>x<d2>... ...]
#                     [CUSTOM_OPS <ops.py> ...] [HEADERS <kernel.h> ...]
#                     [WEIGHTS_F32] [OPTIMIZE_FOR speed|size])
#   Generates the C++ library for MODEL at build time and adds it as the STATIC library
#   <target>. Whoever links <target> can `#include "<n>.h"` and use the class <ns>::<n> or
#   the C API <n>_run(), <n>_arena_size(), ...
#     MODEL         the .tflite file (relative to the current source folder)
#     NAME          class name and C API prefix; default: <target> (then a C identifier)
#     NAMESPACE     C++ namespace of the class, a::b allowed; default: dlcoder
#     INPUT_SHAPES  pins dynamic input shapes, one <input name>=<dims> per input
#     CUSTOM_OPS    custom-op plug-ins (README, Custom ops), each given to the generator
#                   as --custom-ops
#     HEADERS       the kernel headers the plug-ins use; default: the .h files in each
#                   plug-in's folder
#     WEIGHTS_F32   store float16 weights as float32 (--weights-f32)
#     OPTIMIZE_FOR  speed or size (--optimize-for); default: speed within the size budget
#   The sources go to ${CMAKE_CURRENT_BINARY_DIR}/_dlcoder/<target>/lib. They are
#   regenerated when the model, the plug-ins, their headers, the generator's files, its
#   version or its interpreter change, and only then.
#
# dlcoder_add_test(<target>)
#   For a dlcoder_add_library() target: adds the executable <target>_test and the CTest
#   <target>_test, which runs the library on inputs fixed at generation time and compares
#   with the outputs the TFLite interpreter computed for them (needs ai-edge-litert, the
#   `reference` extra). When cross-compiling, ctest runs it through
#   CMAKE_CROSSCOMPILING_EMULATOR. Also adds <target>_benchmark (latency; not built by
#   default).

include_guard(GLOBAL)

# Sets <out_var> to the `generate` command line shared by the library and its test.
function(_dlcoder_generate_command target out_var)
  get_property(command GLOBAL PROPERTY DLCODER_PYTHON_COMMAND)
  get_target_property(model ${target} DLCODER_MODEL)
  get_target_property(name ${target} DLCODER_NAME)
  get_target_property(options ${target} DLCODER_OPTIONS)
  set(${out_var} ${command} -m dlcoder generate "${model}" --name ${name} ${options}
      PARENT_SCOPE)
endfunction()

# Sets <out_var> to what generation depends on: the model, the custom-op plug-ins and
# their headers, the generator and its stamp.
function(_dlcoder_generate_depends target out_var)
  get_target_property(model ${target} DLCODER_MODEL)
  get_target_property(custom ${target} DLCODER_CUSTOM_FILES)
  get_property(files GLOBAL PROPERTY DLCODER_GENERATOR_FILES)
  get_property(stamp GLOBAL PROPERTY DLCODER_STAMP)
  set(${out_var} "${model}" ${custom} ${files} "${stamp}" PARENT_SCOPE)
endfunction()

# Sets <options_var> to the --custom-ops arguments of the plug-ins <plugins> and
# <files_var> to the plug-ins and their kernel headers (<headers>, by default the .h
# files in each plug-in's folder), as absolute paths.
function(_dlcoder_custom_ops where plugins headers options_var files_var)
  set(options "")
  set(files "")
  foreach(plugin IN LISTS plugins)
    cmake_path(ABSOLUTE_PATH plugin BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE)
    if(NOT EXISTS "${plugin}")
      message(FATAL_ERROR "${where}: CUSTOM_OPS ${plugin} does not exist")
    endif()
    list(APPEND options --custom-ops "${plugin}")
    list(APPEND files "${plugin}")
    if(NOT headers)
      cmake_path(GET plugin PARENT_PATH folder)
      file(GLOB beside CONFIGURE_DEPENDS "${folder}/*.h")
      list(APPEND files ${beside})
    endif()
  endforeach()
  foreach(header IN LISTS headers)
    cmake_path(ABSOLUTE_PATH header BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE)
    if(NOT EXISTS "${header}")
      message(FATAL_ERROR "${where}: HEADERS ${header} does not exist")
    endif()
    list(APPEND files "${header}")
  endforeach()
  set(${options_var} "${options}" PARENT_SCOPE)
  set(${files_var} "${files}" PARENT_SCOPE)
endfunction()

function(dlcoder_add_library target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "WEIGHTS_F32" "MODEL;NAME;NAMESPACE;OPTIMIZE_FOR"
                        "INPUT_SHAPES;CUSTOM_OPS;HEADERS")
  set(where "dlcoder_add_library(${target})")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "${where}: unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_MODEL)
    message(FATAL_ERROR "${where}: MODEL <file.tflite> is required")
  endif()
  cmake_path(ABSOLUTE_PATH arg_MODEL BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}"
             NORMALIZE OUTPUT_VARIABLE model)
  get_source_file_property(model_is_generated "${model}" GENERATED)
  if(NOT EXISTS "${model}" AND NOT model_is_generated)
    message(FATAL_ERROR "${where}: MODEL ${model} does not exist")
  endif()
  if(DEFINED arg_NAME)
    set(name "${arg_NAME}")
  elseif(target MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    set(name "${target}")
  else()
    string(MAKE_C_IDENTIFIER "${target}" suggestion)
    message(FATAL_ERROR "${where}: the target name is not a C identifier, so it cannot be the "
                        "class name and C API prefix; add NAME ${suggestion}")
  endif()
  set(options "")
  if(DEFINED arg_NAMESPACE)
    list(APPEND options --namespace "${arg_NAMESPACE}")
  endif()
  if(arg_WEIGHTS_F32)
    list(APPEND options --weights-f32)
  endif()
  if(DEFINED arg_OPTIMIZE_FOR)
    if(NOT arg_OPTIMIZE_FOR MATCHES "^(speed|size)$")
      message(FATAL_ERROR "${where}: OPTIMIZE_FOR is speed or size, not '${arg_OPTIMIZE_FOR}'")
    endif()
    list(APPEND options --optimize-for "${arg_OPTIMIZE_FOR}")
  endif()
  foreach(shape IN LISTS arg_INPUT_SHAPES)
    if(NOT shape MATCHES "^.+=[0-9]+(x[0-9]+)*$")
      message(FATAL_ERROR "${where}: INPUT_SHAPES entry '${shape}' is not "
                          "<input name>=<d1>x<d2>..., e.g. image=1x224x224x3")
    endif()
    list(APPEND options --input-shape "${shape}")
  endforeach()
  if(arg_HEADERS AND NOT arg_CUSTOM_OPS)
    message(FATAL_ERROR "${where}: HEADERS are the kernels of CUSTOM_OPS plug-ins; give CUSTOM_OPS")
  endif()
  _dlcoder_custom_ops("${where}" "${arg_CUSTOM_OPS}" "${arg_HEADERS}" custom_options custom_files)
  list(APPEND options ${custom_options})

  set(lib_dir "${CMAKE_CURRENT_BINARY_DIR}/_dlcoder/${target}/lib")
  set(header "${lib_dir}/${name}.h")
  set(source "${lib_dir}/${name}.cc")
  # the built-in arena's own object: a program links it only if it calls NAME_builtin_arena()
  set(arena_source "${lib_dir}/${name}_arena.cc")
  set(weights_asm "${lib_dir}/${name}_weights.S")
  set(weights_bin "${lib_dir}/${name}_weights.bin")
  add_library(${target} STATIC "${header}" "${source}" "${arena_source}" "${weights_asm}")
  set_target_properties(${target} PROPERTIES
    DLCODER_MODEL "${model}" DLCODER_NAME "${name}" DLCODER_OPTIONS "${options}"
    DLCODER_CUSTOM_FILES "${custom_files}")
  _dlcoder_generate_command(${target} command)
  _dlcoder_generate_depends(${target} depends)
  get_property(cwd GLOBAL PROPERTY DLCODER_WORKING_DIRECTORY)
  cmake_path(RELATIVE_PATH model BASE_DIRECTORY "${CMAKE_SOURCE_DIR}" OUTPUT_VARIABLE shown)
  add_custom_command(
    OUTPUT "${header}" "${source}" "${arena_source}" "${weights_asm}" "${weights_bin}"
    COMMAND ${command} --out-dir "${lib_dir}"
    DEPENDS ${depends}
    WORKING_DIRECTORY "${cwd}"
    COMMENT "dlcoder: generating ${name} from ${shown}"
    VERBATIM)
  # The compiler's depfile does not list the .incbin'd weights.
  set_source_files_properties("${weights_asm}" PROPERTIES OBJECT_DEPENDS "${weights_bin}")
  target_include_directories(${target} PUBLIC "$<BUILD_INTERFACE:${lib_dir}>")
  target_compile_features(${target} PUBLIC cxx_std_17)
endfunction()

function(dlcoder_add_test target)
  set(where "dlcoder_add_test(${target})")
  if(ARGN)
    message(FATAL_ERROR "${where}: unknown arguments: ${ARGN}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR
            "${where}: no target ${target}; call dlcoder_add_library(${target} ...) first")
  endif()
  get_target_property(name ${target} DLCODER_NAME)
  if(NOT name)
    message(FATAL_ERROR "${where}: ${target} was not made by dlcoder_add_library()")
  endif()
  get_property(has_reference GLOBAL PROPERTY DLCODER_HAS_REFERENCE)
  if(NOT has_reference)
    get_property(command GLOBAL PROPERTY DLCODER_PYTHON_COMMAND)
    list(GET command -1 python)
    message(FATAL_ERROR "${where}: the expected outputs come from the TFLite interpreter, which "
                        "${python} lacks: ${python} -m pip install 'dlcoder[reference]'")
  endif()

  # A second generation run writes the test files; its library copy (test_lib) is unused,
  # the test links the real <target>.
  set(gen_dir "${CMAKE_CURRENT_BINARY_DIR}/_dlcoder/${target}")
  set(test_dir "${gen_dir}/test")
  set(test_source "${test_dir}/${name}_test.cc")
  set(data_asm "${test_dir}/${name}_test_data.S")
  set(data_bin "${test_dir}/${name}_test_data.bin")
  set(benchmark_source "${test_dir}/${name}_benchmark.cc")
  _dlcoder_generate_command(${target} command)
  _dlcoder_generate_depends(${target} depends)
  get_property(cwd GLOBAL PROPERTY DLCODER_WORKING_DIRECTORY)
  add_custom_command(
    OUTPUT "${test_source}" "${data_asm}" "${data_bin}" "${benchmark_source}"
    COMMAND ${command} --out-dir "${gen_dir}/test_lib" --test-dir "${test_dir}"
    DEPENDS ${depends}
    WORKING_DIRECTORY "${cwd}"
    COMMENT "dlcoder: generating ${name}_test with reference outputs from TFLite"
    VERBATIM)
  # Both executables list generated sources: one custom target runs the command for both,
  # so parallel Makefile builds do not run it twice.
  add_custom_target(${target}_test_sources
    DEPENDS "${test_source}" "${data_asm}" "${data_bin}" "${benchmark_source}")
  set_source_files_properties("${data_asm}" PROPERTIES OBJECT_DEPENDS "${data_bin}")

  add_executable(${target}_test "${test_source}" "${data_asm}")
  target_include_directories(${target}_test PRIVATE "${test_dir}")
  target_link_libraries(${target}_test PRIVATE ${target})
  add_dependencies(${target}_test ${target}_test_sources)
  add_test(NAME ${target}_test COMMAND ${target}_test)

  add_executable(${target}_benchmark EXCLUDE_FROM_ALL "${benchmark_source}")
  find_package(Threads REQUIRED)  # the benchmark's optional thread pool
  target_link_libraries(${target}_benchmark PRIVATE ${target} Threads::Threads)
  add_dependencies(${target}_benchmark ${target}_test_sources)
endfunction()
