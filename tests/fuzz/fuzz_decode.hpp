#pragma once
// The body of the decoder fuzz target, shared with a unit test that runs it over the seeds and
// over every input the fuzzer ever crashed on (regressions/).
#include <cstdint>
#include <span>
#include <string>

namespace imgflow::fuzz {

/// Decodes `bytes` every way imgflow can, whatever the format (every page, default and strict,
/// and for PNG with and without checksums) and compares the fast PNG decoder with libpng wherever the fast one accepts the file: same size, layout,
/// pixels and carried chunks. Returns what differs, or an empty string. A crash, leak or
/// undefined behaviour is the sanitizers' to report.
std::string check_decoders(std::span<const std::uint8_t> bytes);

}  // namespace imgflow::fuzz
