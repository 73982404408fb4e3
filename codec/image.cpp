#include "codec/image.hpp"

namespace imgflow {

std::string_view layout_name(int channels) {
  switch (channels) {
    case 1: return "gray";
    case 2: return "gray+alpha";
    case 3: return "RGB";
    case 4: return "RGBA";
    default: return "unknown";
  }
}

}  // namespace imgflow
