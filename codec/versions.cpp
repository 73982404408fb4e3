#include "codec/versions.hpp"

#include <fmt/format.h>
#include <gif_lib.h>
#include <isa-l.h>
#include <libdeflate.h>
#include <openjpeg.h>
#include <png.h>
#include <tiffio.h>
#include <webp/decode.h>
#include <zlib.h>

#include <cstdio>
// jpeglib.h needs FILE and size_t first.
#include <jpeglib.h>

namespace imgflow {

std::vector<LibraryVersion> codec_libraries() {
  const int webp = WebPGetDecoderVersion();
  std::string tiff = TIFFGetVersion();
  tiff = tiff.substr(0, tiff.find('\n'));
  if (const auto at = tiff.rfind(' '); at != std::string::npos) tiff = tiff.substr(at + 1);
#define IMGFLOW_TEXT(x) #x
#define IMGFLOW_STRING(x) IMGFLOW_TEXT(x)
  return {{"libpng", png_get_libpng_ver(nullptr)},
          {"zlib", zlibVersion()},
          {"libdeflate", LIBDEFLATE_VERSION_STRING},
          {"ISA-L", fmt::format("{}.{}.{}", ISAL_MAJOR_VERSION, ISAL_MINOR_VERSION, ISAL_PATCH_VERSION)},
          {"libjpeg-turbo", IMGFLOW_STRING(LIBJPEG_TURBO_VERSION)},
          {"libtiff", tiff},
          {"libwebp", fmt::format("{}.{}.{}", webp >> 16, (webp >> 8) & 0xff, webp & 0xff)},
          {"OpenJPEG", opj_version()},
          {"giflib", fmt::format("{}.{}.{}", GIFLIB_MAJOR, GIFLIB_MINOR, GIFLIB_RELEASE)}};
#undef IMGFLOW_STRING
#undef IMGFLOW_TEXT
}

}  // namespace imgflow
