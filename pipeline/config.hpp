#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "pipeline/png_fast_decode.hpp"
#include "pipeline/png_fast_encode.hpp"

namespace imgflow {

/// How the work is scheduled, read and written: everything the graph needs besides the jobs and
/// the lookup tables. The kernels know nothing of it.
struct PipelineConfig {
  int threads = 0;               ///< worker threads for the whole process; 0 = all cores
  std::size_t max_in_flight = 0; ///< images alive between source and sink; 0 = 2 x threads
  bool skip_existing = false;    ///< leave a finished output (complete, newer, same stamp) alone
  bool strip_metadata = false;   ///< drop colour-space and resolution chunks instead of copying them
  bool fail_fast = false;        ///< stop feeding images after the first failure
  std::string stamp;             ///< text of the Software tEXt chunk on every output (see skip_existing)
  bool sync = true;              ///< fsync each output before renaming it into place
  PngDecodeOptions decode;       ///< pixel limit, checksum verification
  PngEncoderSettings encode = find_png_level(kDefaultPngLevel)->settings;

  /// `threads` with 0 resolved to the cores this process may use.
  int resolved_threads() const;
  std::size_t resolved_max_in_flight() const;
};

}  // namespace imgflow
