#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "pipeline/bytes.hpp"

namespace imgflow {

/// Reads a whole file. Throws std::runtime_error with the system's reason ("No such file or
/// directory", "Is a directory", "Permission denied"...).
std::vector<std::uint8_t> read_file(const std::filesystem::path& path);
/// The same into `bytes` (replacing its contents, reusing its capacity).
void read_file(const std::filesystem::path& path, Bytes& bytes);

/// The marker in the names of files imgflow is still writing: `.NAME.imgflow-tmp.PID`.
inline constexpr std::string_view kTemporaryMarker = ".imgflow-tmp.";

/// Writes `bytes` to `target` so that `target` is either untouched or complete: the data goes
/// to a temporary file in the same directory, which is then renamed over `target`. Parent
/// directories are created. On failure the temporary file is removed and std::runtime_error
/// names the reason.
void write_file_atomically(const std::filesystem::path& target, std::span<const std::uint8_t> bytes);

}  // namespace imgflow
