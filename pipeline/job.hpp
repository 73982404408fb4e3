#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pipeline/bytes.hpp"
#include "pipeline/image.hpp"

namespace imgflow {

/// The stages an image goes through, in order.
enum class Stage { read, decode, adjust, encode, write };
inline constexpr std::size_t kStageCount = 5;
inline constexpr std::array<std::string_view, kStageCount> kStageNames{"read", "decode", "adjust",
                                                                       "encode", "write"};
inline std::string_view stage_name(Stage s) { return kStageNames[static_cast<std::size_t>(s)]; }

/// cancelled: reached the graph after the run was asked to stop, so it was never started.
enum class Outcome { pending, written, skipped, failed, cancelled };

/// One image's trip through the graph: the message every node passes on (by pointer). It
/// carries its own sequence number, its buffers and, if something went wrong, the stage and
/// the reason, so a failure flows to the sink like any other result.
struct Job {
  std::size_t index = 0;              ///< position in the natural-order listing
  std::filesystem::path input;        ///< file to read
  std::filesystem::path output;       ///< file to write
  Outcome outcome = Outcome::pending;
  Stage failed_stage = Stage::read;
  std::string error;                  ///< the reason, when outcome == failed
  std::error_code error_code;         ///< the system's error behind it, if any (ENOSPC...)

  Bytes file_bytes;                   ///< read -> decode
  Image image;                           ///< decode -> adjust -> encode
  Bytes encoded;                      ///< encode -> write

  int width = 0, height = 0, channels = 0, bit_depth = 0;  ///< kept after buffers are freed
  std::size_t input_bytes = 0;        ///< size of the input file
  std::size_t decoded_bytes = 0;
  std::size_t output_bytes = 0;

  /// When the source handed the job to the graph, and what each stage did with it: start
  /// (from the run's start), duration (zero: the stage did not run) and which worker thread
  /// ran it. The gaps between spans are the time the image waited in front of a stage.
  struct Span {
    std::chrono::nanoseconds start{};
    std::chrono::nanoseconds duration{};
    int thread = -1;
  };
  std::chrono::nanoseconds fed_at{};
  std::array<Span, kStageCount> spans{};

  void fail(Stage stage, std::string reason, std::error_code code = {}) {
    outcome = Outcome::failed;
    failed_stage = stage;
    error = std::move(reason);
    error_code = code;
  }
};

}  // namespace imgflow
