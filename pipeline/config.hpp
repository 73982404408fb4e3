#pragma once
#include <cstddef>
#include <cstdint>
#include <charconv>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/options.hpp"
#include "codec/encode.hpp"
#include "codec/formats.hpp"
#include "codec/png_fast_encode.hpp"
#include "files/document.hpp"

namespace imgflow {

/// Which pages of a file of several pages to write: 1-based ranges, all when empty.
struct PageSelection {
  std::vector<std::pair<int, int>> ranges;

  bool takes(int page) const {
    if (ranges.empty()) return true;
    for (const auto& [first, last] : ranges)
      if (page >= first && page <= last) return true;
    return false;
  }
  /// "all", "first", or a list of pages and ranges such as "1,3-5,9-" (open-ended); none on
  /// anything else.
  static std::optional<PageSelection> parse(std::string_view text) {
    PageSelection selection;
    if (text == "all") return selection;
    if (text == "first") return PageSelection{{{1, 1}}};
    const auto number = [](std::string_view digits, int& out) {
      const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
      return error == std::errc{} && end == digits.data() + digits.size() && out >= 1;
    };
    while (!text.empty()) {
      const auto comma = text.find(',');
      const std::string_view item = text.substr(0, comma);
      text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
      int first = 0, last = 0;
      const auto dash = item.find('-');
      if (dash == std::string_view::npos) {
        if (!number(item, first)) return std::nullopt;
        last = first;
      } else {
        if (!number(item.substr(0, dash), first)) return std::nullopt;
        last = dash + 1 == item.size() ? 1 << 30 : 0;
        if (!last && (!number(item.substr(dash + 1), last) || last < first)) return std::nullopt;
      }
      selection.ranges.emplace_back(first, last);
    }
    if (selection.ranges.empty()) return std::nullopt;
    return selection;
  }
};

/// How the work is scheduled, read and written: everything the graph needs besides the jobs and
/// the lookup tables. The kernels know nothing of it.
struct PipelineConfig {
  int threads = 0;               ///< worker threads for the whole process; 0 = all cores
  std::size_t max_in_flight = 0; ///< images alive between source and sink; 0 = 2 x threads
  bool skip_existing = false;    ///< leave a finished output (files/resume.hpp) alone
  bool overwrite_foreign = false;  ///< under skip_existing, replace files imgflow did not write too
  bool strip_metadata = false;   ///< drop colour-space and resolution chunks instead of copying them
  bool fail_fast = false;        ///< stop feeding images after the first failure
  std::string stamp;             ///< text of the Software tEXt chunk on every output (see skip_existing)
  std::filesystem::path output_dir;  ///< never re-created once gone: the run stops instead
  std::vector<std::filesystem::path> input_dirs;  ///< one gone while images are read stops the run
  /// --move-input: the writer moves each job's input to its Job::move_to once the outputs are in place.
  bool move_inputs = false;
  /// --watch: an input removed before it was read is skipped (with the reason), not failed.
  bool missing_input_skipped = false;
  bool sync = true;              ///< fsync each output before renaming it into place
  DecodeOptions decode;          ///< pixel limit, checksum verification, strictness
  PageSelection pages;           ///< which pages of a file of several pages are written
  /// Whether an output path is some listed input's output: a page's output must not be one.
  std::function<bool(const std::filesystem::path&)> output_taken;
  /// The format written (a row of codec/formats.hpp with an encoder) and every format's settings;
  /// the stamp and the bands are filled per page by the encode stage.
  const Format* output_format = &png_format();
  EncodeSettings encode;
  /// --join: the documents the pages are put together into (files/document.hpp); null: every
  /// page is a file of its own.
  const std::vector<DocumentPlan>* documents = nullptr;

  /// `threads` with 0 resolved to the cores this process may use.
  int resolved_threads() const;
  std::size_t resolved_max_in_flight() const;
  /// Threads that read input files, besides the workers: a few, so that slow storage (a network
  /// filesystem) has several reads outstanding, and no more than the files allowed in flight.
  int reader_threads() const;
};

}  // namespace imgflow
