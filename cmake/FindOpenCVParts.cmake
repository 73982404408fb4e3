# Finds the three OpenCV modules imgflow uses (Debian's libopencv-{core,imgproc,imgcodecs}-dev),
# which ship without OpenCVConfig.cmake, and exposes them as OpenCVParts::OpenCVParts.
find_path(OpenCVParts_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4)
set(_opencv_libs)
foreach(_module core imgproc imgcodecs)
  find_library(OpenCVParts_${_module}_LIBRARY opencv_${_module})
  list(APPEND _opencv_libs OpenCVParts_${_module}_LIBRARY)
endforeach()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenCVParts REQUIRED_VARS OpenCVParts_INCLUDE_DIR ${_opencv_libs})

if(OpenCVParts_FOUND AND NOT TARGET OpenCVParts::OpenCVParts)
  add_library(OpenCVParts::OpenCVParts INTERFACE IMPORTED)
  target_include_directories(OpenCVParts::OpenCVParts SYSTEM INTERFACE ${OpenCVParts_INCLUDE_DIR})
  target_link_libraries(OpenCVParts::OpenCVParts INTERFACE
    ${OpenCVParts_imgcodecs_LIBRARY} ${OpenCVParts_imgproc_LIBRARY} ${OpenCVParts_core_LIBRARY})
endif()
