#pragma once
// The resume check (--skip-existing): is an output already the finished result of its input?
// Every output records what it was made from (the input's size, modification time and a fast
// content hash) beside the stamp of the adjustments; an output is finished when both match
// now. Clocks are never compared, so an input dated in the future is not redone forever and an
// input replaced by an older-dated file (cp -p, rsync -a, tar x) is.
#include <time.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "codec/bytes.hpp"

namespace imgflow {

/// What an output records about its input, from the input's contents and modification time
/// (read_file gives both): "size=N mtime=SECONDS.NANOSECONDS xxh3=HEX".
std::string source_record(std::span<const std::uint8_t> contents, const timespec& modified);

enum class OutputState {
  absent,    ///< no file there
  finished,  ///< imgflow's, complete and valid, same adjustments, made from this very input
  redo,      ///< imgflow's, but unfinished, damaged, outdated or from other adjustments
  foreign,   ///< not written by imgflow (no stamp): never replaced unless asked
};

/// Judges the file at `output` against the stamp `software` (the adjustments) and `source` (the
/// input's record). `scratch` receives the output's bytes.
OutputState check_output(const std::filesystem::path& output, std::string_view software, std::string_view source,
                         Bytes& scratch);
/// The same, the source made by `source` only when the rest would make the output finished (an
/// imgflow output, whole, of these adjustments): making it reads the input, or a document's
/// inputs, into the scratch buffer it is given. A source that cannot be made (it throws) makes
/// the output `redo`.
OutputState check_output(const std::filesystem::path& output, std::string_view software,
                         const std::function<std::string(Bytes& scratch)>& source, Bytes& scratch);

/// The prefix of the stamp of every output imgflow writes.
inline constexpr std::string_view kStampPrefix = "imgflow ";

}  // namespace imgflow
