#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/adjustment.hpp"
#include "kernels/lookup_table.hpp"

namespace imgflow {

/// How --threshold picks the level: a fixed one, Otsu's per page, or Sauvola's per pixel.
enum class ThresholdMethod { level, otsu, sauvola };

/// One operation of a run, as the command line gave it. Adjacent point adjustments are one
/// `adjust` operation with their composed tables.
struct Operation {
  enum class Kind { adjust, grayscale, normalize, threshold, deskew, resample };
  Kind kind = Kind::adjust;
  AdjustmentChain chain;                              ///< adjust
  std::shared_ptr<const LookupTables> tables;         ///< adjust: the chain composed
  double low_percent = 0.5, high_percent = 99.5;      ///< normalize
  ThresholdMethod method = ThresholdMethod::level;    ///< threshold
  int level = 128;                                    ///< threshold level: white where rank >= level
  int window = 31;                                    ///< threshold sauvola: odd side of the window
  double k = 0.2;                                     ///< threshold sauvola
  double max_degrees = 5;                             ///< deskew: the largest skew looked for
  double dpi = 0;                                     ///< resample: the resolution wanted
  double assume_dpi = 0;                              ///< resample: for pages without one (0: fail them)

  /// Whether the operation works pixel by pixel (the adjust node), needs the page's histogram
  /// first, or needs neighbours (the neighbourhood node).
  bool is_point() const;
  bool needs_histogram() const;
  /// "brightness=0.25,contrast=0.25", "grayscale", "normalize=0.5,99.5", "threshold=otsu",
  /// "threshold=sauvola:31,0.2", "deskew=5", "dpi=300"
  std::string text() const;
};

/// The operations of a run in command-line order (adjacent point adjustments merged).
struct Recipe {
  std::vector<Operation> operations;

  /// A recipe of one point chain (the default chain, or a test's).
  static Recipe of(const AdjustmentChain& chain);
  /// A recipe of one point chain with tables made elsewhere (the tests' independent ones).
  static Recipe of(std::shared_ptr<const LookupTables> tables);
  /// Adds an operation; a point chain after a point chain joins it (one table).
  void add(Operation operation);
  void add(const Adjustment& adjustment);
  /// The operations' texts joined by ';', the notation of run reports and output stamps.
  std::string text() const;
};

/// Parses the value of --threshold: a level 0-256, "otsu", or "sauvola[:WINDOW[,K]]" (WINDOW odd,
/// 3-1001; K in (0, 1)). nullopt with `problem` set on anything else.
std::optional<Operation> parse_threshold(std::string_view text, std::string& problem);
/// Parses "LOW,HIGH" percentages, 0 <= LOW < HIGH <= 100 (empty: 0.5,99.5).
std::optional<Operation> parse_normalize(std::string_view text, std::string& problem);

}  // namespace imgflow
