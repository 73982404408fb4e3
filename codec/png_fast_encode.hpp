#pragma once
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "codec/bytes.hpp"
#include "codec/image.hpp"
#include "codec/row_deflate.hpp"
#include "codec/scratch.hpp"

struct isal_zstream;

namespace imgflow {

/// How a PNG is filtered and deflated. The presets are what users pick (--png-level); the
/// parts are exposed for measuring and testing.
struct PngEncoderSettings {
  /// adaptive: per row, the filter with the smallest sum of |residual| (libpng's heuristic);
  /// automatic: none or adaptive for the whole image, whichever deflates sample bands smaller.
  enum class Filter { none, adaptive, automatic };
  /// ISA-L igzip (levels 1-3), libdeflate (1-12), imgflow's row_deflate (which looks one row
  /// up; no levels), or automatic: row_deflate where it pays, the caller's fallback elsewhere
  /// (resolved once per image by resolve_deflater: a PNG's is libdeflate 6, TIFF's ISA-L 2)
  enum class Deflater { isal, libdeflate, rows, automatic };
  Filter filter = Filter::none;
  Deflater deflater = Deflater::isal;
  int level = 1;
};

struct PngLevel {
  std::string_view name;
  std::string_view description;
  PngEncoderSettings settings;
};

/// The presets, fastest first; the default is kDefaultPngLevel.
std::span<const PngLevel> png_levels();
inline constexpr std::string_view kDefaultPngLevel = "default";
const PngLevel* find_png_level(std::string_view name);

/// How the encoder's independent bands run; the codec schedules nothing itself. `run(count,
/// body)` calls body(band, worker) for every band from 0 to count - 1, in any order and possibly
/// at once, and returns when all have finished; `worker` (below `workers`) names who runs the
/// band, and no worker runs two bands at once, so each worker's working memory is reused band
/// after band. Without `run`, the bands run one after another as worker 0.
struct BandRunner {
  using Body = std::function<void(std::size_t band, std::size_t worker)>;
  std::size_t workers = 1;
  std::function<void(std::size_t count, const Body& body)> run;
};

/// Encodes `image` (same layout and depth, metadata chunks first) into `out`, replacing its
/// contents. With ISA-L, an image of several MiB is deflated in 1 MiB bands, each primed with
/// the previous band's last 32 KiB and ended by a sync flush, so the bands join into one zlib
/// stream; `run_bands` may run them at once. The band split depends only
/// on the image, so the bytes are the same however the bands run. Working memory comes from
/// `scratch` (each band has its own there); the overload without one makes its own.
void encode_png_fast(const Image& image, Bytes& out, const PngEncoderSettings& settings,
                     const BandRunner& run_bands, CodecScratch& scratch);
void encode_png_fast(const Image& image, Bytes& out, const PngEncoderSettings& settings,
                     const BandRunner& run_bands = {});

/// Appends the zlib stream of `data` to `out`, deflated as `settings` says (its filter aside): the
/// Deflate of every format imgflow writes (PNG's image data, TIFF's Deflate strips, PDF's Flate).
/// `shape` says how rows and pixels lie in `data`, for the row deflater.
void zlib_compress(std::span<const std::uint8_t> data, const PngEncoderSettings& settings, Bytes& out,
                   const BandRunner& run_bands, CodecScratch& scratch, RowShape shape = {});

/// The rows of an image to decide on: `count` rows at a quarter, half and three quarters of the
/// height (all of them when there are fewer), as `make_rows(first, rows, out)` writes them.
using RowMaker = std::function<void(int first, int rows, std::uint8_t* out)>;
void sample_rows(int height, std::size_t stride, int count, const RowMaker& make_rows, Bytes& sample);

/// `settings` with Deflater::automatic resolved for an image of `height` rows laid out as `shape`,
/// judged on a sample of kDeflaterSampleRows rows a band that `make_rows` writes (sample_rows;
/// kept in scratch.sample): row_deflate where it makes at most 92.5% of the bytes ISA-L's level 2
/// makes of the sample, else `fallback` at `fallback_level`. (On the benchmark's
/// pages the samples' ratio is 0.84-0.88 for clean pages and 0.92-0.98 for noisy scans as PNG
/// rows, 0.87-0.93 and 0.93-0.98 as TIFF's predicted rows; the whole pages come out 14% and 4%
/// smaller.) Other settings come back as they are, with nothing sampled.
inline constexpr int kDeflaterSampleRows = 32;
PngEncoderSettings resolve_deflater(const PngEncoderSettings& settings, int height, RowShape shape,
                                    const RowMaker& make_rows, CodecScratch& scratch,
                                    PngEncoderSettings::Deflater fallback, int fallback_level);

/// Raw deflate of data[begin, end) with ISA-L at `level` (1-3), primed with up to 32 KiB before
/// `begin`, ending with a sync flush or, when `last`, the final block; returns the bytes written
/// to `out`. ISA-L keeps its state in `stream` (the encoder uses its stack; tests move it around,
/// since ISA-L 2.30's output once depended on where it lay: see the definition).
std::size_t isal_deflate_range(std::span<const std::uint8_t> data, std::size_t begin, std::size_t end,
                               bool last, int level, std::uint8_t* out, std::size_t capacity,
                               isal_zstream& stream, Bytes& level_buffer);

}  // namespace imgflow
