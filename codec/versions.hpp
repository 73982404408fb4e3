#pragma once
#include <string>
#include <vector>

namespace imgflow {

struct LibraryVersion {
  std::string name;
  std::string version;
};

/// The codec libraries imgflow uses, with the versions in use (the run-time library's own
/// answer where it gives one: libpng, zlib, libtiff, libwebp, OpenJPEG; else the build's headers).
std::vector<LibraryVersion> codec_libraries();

}  // namespace imgflow
