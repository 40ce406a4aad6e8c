# dx-config.cmake - what find_package(dx) reads: the dx_generate()
# function of DxGenerate.cmake, and DX_EXECUTABLE, the compiler.
include("${CMAKE_CURRENT_LIST_DIR}/DxGenerate.cmake")
set(dx_FOUND TRUE)
if(NOT DX_EXECUTABLE)
  set(dx_FOUND FALSE)
  set(dx_NOT_FOUND_MESSAGE "dxc not found: set DX_EXECUTABLE or the DXC environment variable")
endif()
