#pragma once
// imgflow's own deflate for image rows (RFC 1951): raw deflate blocks of a band of rows, primed
// with the 32 KiB before it, so that bands deflated apart join into one stream (as
// isal_deflate_range does for ISA-L). Besides a small hash table (two recent places for each
// five bytes), every position is tried against the same place one row up and one pixel back:
// on a page of text, where most of what repeats is the row above or the paper beside, that
// finds with two comparisons what zlib's hash chains find after searching (docs/png-levels.md).
// One step of lazy matching, matches extended back over the literals before them; a Huffman
// code per 16,384 symbols, or a stored block when that is smaller.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace imgflow {

struct RowDeflateWork;

/// The deflater's working memory (its hash table, symbols, Huffman work), reused from band to band.
struct RowDeflateScratch {
  std::vector<std::int32_t> table;
  std::vector<std::uint32_t> symbols;
  std::shared_ptr<RowDeflateWork> work;
};

/// How the deflated bytes lie: `stride` bytes a row (0: no rows), `pixel_bytes` a pixel.
struct RowShape {
  std::size_t stride = 0;
  std::size_t pixel_bytes = 1;
};

/// Raw deflate of data[begin, end), primed with up to 32 KiB before `begin`, ending with a sync
/// flush (an empty stored block) or, when `last`, the final block; returns the bytes written to
/// `out`, which must hold row_deflate_bound(end - begin).
std::size_t row_deflate(std::span<const std::uint8_t> data, std::size_t begin, std::size_t end, RowShape shape,
                        bool last, std::uint8_t* out, RowDeflateScratch& scratch);

/// Huffman code lengths of at most `limit` bits (up to 15) for up to 286 symbols' frequencies,
/// 0 for a symbol without one; a complete code when at least two symbols have one. Exposed for
/// the tests.
void huffman_code_lengths(std::span<const std::uint32_t> freq, int limit, std::span<std::uint8_t> lengths);

/// The most row_deflate writes for `n` bytes (stored blocks and their headers, at worst).
std::size_t row_deflate_bound(std::size_t n);

}  // namespace imgflow
