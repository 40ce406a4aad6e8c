# DxGenerate.cmake - compiling .dx models in a CMake project.  Installed
# with dxc in <prefix>/share/dx/cmake/, beside dx-config.cmake, so that
#
#     find_package(dx REQUIRED)
#     add_executable(prog main.c)
#     dx_generate(prog model.dx OPTIONS --real=float)
#
# compiles model.dx into model.c and model.h (in the build tree), adds
# model.c to prog, puts model.h's directory on prog's include path, and
# links prog with the maths library.  The files are made again whenever
# model.dx, or dxc itself, changes.
#
#   dx_generate(<target-or-variable> <model.dx>
#               [OUTPUT_NAME <name>]     file names: <name>.c, <name>.h
#                                        (default: the model's base name)
#               [OUTPUT_DIR <dir>]       where they go (default:
#                                        ${CMAKE_CURRENT_BINARY_DIR}/dx)
#               [OPTIONS <dxc option>...])
#
# When the first argument is not a target, nothing is added to a target:
# the variable it names is set to the generated .c file, and
# <variable>_HEADER and <variable>_INCLUDE_DIR to the header and its
# directory, for add_library(... ${var}) and the like.
#
# The compiler is DX_EXECUTABLE: set it (-DDX_EXECUTABLE=/path/to/dxc),
# or the environment variable DXC, or let it be found beside this file's
# installation or on PATH.

include_guard(GLOBAL)

if(NOT DX_EXECUTABLE)
  if(DEFINED ENV{DXC} AND NOT "$ENV{DXC}" STREQUAL "")
    set(DX_EXECUTABLE "$ENV{DXC}" CACHE FILEPATH "The dx compiler, dxc")
  else()
    # <prefix>/share/dx/cmake/DxGenerate.cmake -> <prefix>/bin/dxc
    get_filename_component(_dx_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
    find_program(DX_EXECUTABLE dxc HINTS "${_dx_prefix}/bin" DOC "The dx compiler, dxc")
    unset(_dx_prefix)
  endif()
endif()

function(dx_generate target_or_var model)
  cmake_parse_arguments(PARSE_ARGV 2 DX "" "OUTPUT_NAME;OUTPUT_DIR" "OPTIONS")
  if(DX_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "dx_generate: unexpected arguments: ${DX_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT DX_EXECUTABLE)
    message(FATAL_ERROR "dx_generate: dxc not found; set DX_EXECUTABLE or the DXC environment variable")
  endif()
  get_filename_component(src "${model}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT DX_OUTPUT_NAME)
    get_filename_component(DX_OUTPUT_NAME "${model}" NAME_WE)
  endif()
  if(NOT DX_OUTPUT_DIR)
    set(DX_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/dx")
  endif()
  set(c "${DX_OUTPUT_DIR}/${DX_OUTPUT_NAME}.c")
  set(h "${DX_OUTPUT_DIR}/${DX_OUTPUT_NAME}.h")
  file(MAKE_DIRECTORY "${DX_OUTPUT_DIR}")
  # one run writes both files; DEPENDS re-runs it when the model or the
  # compiler (when it is named by its path) changes
  set(deps "${src}")
  if(IS_ABSOLUTE "${DX_EXECUTABLE}")
    list(APPEND deps "${DX_EXECUTABLE}")
  endif()
  add_custom_command(
    OUTPUT "${c}" "${h}"
    COMMAND "${DX_EXECUTABLE}" ${DX_OPTIONS} "${src}" -o "${c}" --header "${h}"
    DEPENDS ${deps}
    COMMENT "dxc ${model}"
    VERBATIM)
  if(TARGET "${target_or_var}")
    target_sources("${target_or_var}" PRIVATE "${c}" "${h}")
    target_include_directories("${target_or_var}" PRIVATE "${DX_OUTPUT_DIR}")
    find_library(DX_LIBM m)
    if(DX_LIBM)
      target_link_libraries("${target_or_var}" PRIVATE "${DX_LIBM}")
    endif()
  else()
    set("${target_or_var}" "${c}" PARENT_SCOPE)
    set("${target_or_var}_HEADER" "${h}" PARENT_SCOPE)
    set("${target_or_var}_INCLUDE_DIR" "${DX_OUTPUT_DIR}" PARENT_SCOPE)
  endif()
endfunction()
