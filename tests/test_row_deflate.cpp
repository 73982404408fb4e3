// imgflow's row deflater, read back by two inflaters that are not imgflow's: zlib's and ISA-L's.
#include <doctest/doctest.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <random>
#include <vector>

#include "codec/png_fast_encode.hpp"
#include "codec/row_deflate.hpp"
#include "codec/scratch.hpp"

using namespace imgflow;

namespace {

using Data = std::vector<std::uint8_t>;

std::optional<Data> inflate_with_zlib(const Data& raw, std::size_t expected) {
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return std::nullopt;
  Data out(expected + 1);
  z.next_in = const_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int status = inflate(&z, Z_FINISH);
  const std::size_t used = raw.size() - z.avail_in;
  out.resize(z.total_out);
  inflateEnd(&z);
  if (status != Z_STREAM_END || used != raw.size()) return std::nullopt;  // every byte, then the end
  return out;
}

std::optional<Data> inflate_with_isal(const Data& raw, std::size_t expected) {
  inflate_state state;
  isal_inflate_init(&state);
  Data out(expected + 1);
  state.next_in = const_cast<std::uint8_t*>(raw.data());
  state.avail_in = static_cast<std::uint32_t>(raw.size());
  state.next_out = out.data();
  state.avail_out = static_cast<std::uint32_t>(out.size());
  if (isal_inflate(&state) != ISAL_DECOMP_OK || state.block_state != ISAL_BLOCK_FINISH) return std::nullopt;
  out.resize(state.total_out);
  return out;
}

// data deflated in bands split at `cuts` (each primed with what comes before), joined.
Data deflate_in_bands(const Data& data, RowShape shape, std::vector<std::size_t> cuts) {
  cuts.insert(cuts.begin(), 0);
  cuts.push_back(data.size());
  Data joined;
  RowDeflateScratch scratch;
  for (std::size_t b = 0; b + 1 < cuts.size(); ++b) {
    Data out(row_deflate_bound(cuts[b + 1] - cuts[b]));
    out.resize(row_deflate(data, cuts[b], cuts[b + 1], shape, b + 2 == cuts.size(), out.data(), scratch));
    joined.insert(joined.end(), out.begin(), out.end());
  }
  return joined;
}

// ISA-L's level 2 (imgflow's previous default) on the same bytes, for sizes.
std::size_t isal_size(const Data& data) {
  std::vector<std::uint8_t> level(ISAL_DEF_LVL2_DEFAULT), out(data.size() + data.size() / 8 + 1024);
  isal_zstream stream;
  isal_deflate_init(&stream);
  stream.level = 2;
  stream.level_buf = level.data();
  stream.level_buf_size = static_cast<std::uint32_t>(level.size());
  stream.next_in = const_cast<std::uint8_t*>(data.data());
  stream.avail_in = static_cast<std::uint32_t>(data.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<std::uint32_t>(out.size());
  stream.end_of_stream = 1;
  stream.gzip_flag = IGZIP_DEFLATE;
  REQUIRE(isal_deflate(&stream) == COMP_OK);
  return stream.total_out;
}

// PNG-like unfiltered rows of a text page: paper, and "glyphs" (a dozen shapes of vertical and
// horizontal strokes with grey edges, as a scanner or a renderer draws them), repeated along
// lines, each copy a shade lighter or darker; a filter byte before each row.
Data text_rows(int width, int height, int pixel_bytes, std::mt19937& rng) {
  std::vector<Data> glyphs;
  for (int g = 0; g < 12; ++g) {
    Data shape(16 * 20, 255);
    const auto stroke = [&](int x0, int y0, int x1, int y1) {  // ink inside, grey on its edge
      for (int y = std::max(0, y0 - 1); y <= std::min(19, y1 + 1); ++y)
        for (int x = std::max(0, x0 - 1); x <= std::min(15, x1 + 1); ++x) {
          const bool inside = x >= x0 && x <= x1 && y >= y0 && y <= y1;
          shape[y * 16 + x] = std::min<std::uint8_t>(shape[y * 16 + x], inside ? 20 : 150);
        }
    };
    for (int v = 0; v < 2; ++v) {
      const int x = 1 + static_cast<int>(rng() % 12);
      stroke(x, 1 + static_cast<int>(rng() % 4), x + 1 + static_cast<int>(rng() % 2), 14 + static_cast<int>(rng() % 5));
    }
    const int y = 2 + static_cast<int>(rng() % 14);
    stroke(1 + static_cast<int>(rng() % 4), y, 9 + static_cast<int>(rng() % 5), y + 1);
    glyphs.push_back(shape);
  }
  const std::size_t stride = static_cast<std::size_t>(width) * pixel_bytes + 1;
  Data rows(stride * height, 255);
  for (int y = 0; y < height; ++y) rows[stride * y] = 0;
  for (int line = 10; line + 20 < height; line += 30)
    for (int x = 8; x + 16 < width; x += 17 + static_cast<int>(rng() % 4)) {
      const Data& glyph = glyphs[rng() % glyphs.size()];
      const int shade = static_cast<int>(rng() % 3);
      for (int gy = 0; gy < 20; ++gy)
        for (int gx = 0; gx < 16; ++gx)
          for (int c = 0; c < pixel_bytes; ++c)
            rows[stride * (line + gy) + 1 + static_cast<std::size_t>(x + gx) * pixel_bytes + c] =
                static_cast<std::uint8_t>(std::min(255, glyph[gy * 16 + gx] + shade));
    }
  return rows;
}

}  // namespace

TEST_CASE("row deflater: zlib and ISA-L inflate every kind of input back exactly, whole and in primed bands") {
  std::mt19937 rng(2024);
  struct Case {
    const char* name;
    Data data;
    RowShape shape;
  };
  std::vector<Case> cases;
  cases.push_back({"gray text page", text_rows(1201, 400, 1, rng), {1202, 1}});
  cases.push_back({"RGB text page", text_rows(517, 300, 3, rng), {517 * 3 + 1, 3}});
  cases.push_back({"16-bit gray text page", text_rows(700, 200, 2, rng), {1401, 2}});
  cases.push_back({"rows wider than the window", text_rows(20000, 12, 2, rng), {40001, 2}});
  Data noise(300000);
  for (auto& v : noise) v = static_cast<std::uint8_t>(rng());
  cases.push_back({"noise (stored blocks)", noise, {1000, 1}});
  cases.push_back({"one value (the longest matches)", Data(400000, 7), {0, 1}});
  Data mixed = noise;  // noise and runs by turns: stored and Huffman blocks in one stream
  for (std::size_t i = 0; i < mixed.size(); ++i)
    if ((i / 50000) % 2) mixed[i] = static_cast<std::uint8_t>(i / 300);
  cases.push_back({"noise and runs by turns", mixed, {4096, 4}});
  Data periodic(200000);  // a pattern repeating at distances near 32,768: the window's edge
  for (std::size_t i = 0; i < periodic.size(); ++i) periodic[i] = static_cast<std::uint8_t>((i % 32768) * 7 / 5);
  cases.push_back({"repeats at the window's edge", periodic, {32768, 8}});
  for (std::size_t n = 0; n < 10; ++n) cases.push_back({"a few bytes", Data(noise.begin(), noise.begin() + n), {3, 1}});

  for (const Case& c : cases) {
    CAPTURE(c.name);
    CAPTURE(c.data.size());
    std::vector<std::vector<std::size_t>> splits{{}};
    if (c.data.size() > 100) {
      splits.push_back({c.data.size() / 2});
      splits.push_back({1, 5, c.data.size() / 3, c.data.size() / 3 + 40000 < c.data.size() ? c.data.size() / 3 + 40000 : c.data.size() - 1});
    }
    for (const auto& cuts : splits) {
      CAPTURE(cuts.size());
      const Data deflated = deflate_in_bands(c.data, c.shape, cuts);
      CHECK(deflated.size() <= row_deflate_bound(c.data.size()) + 5 * cuts.size());
      const auto by_zlib = inflate_with_zlib(deflated, c.data.size());
      REQUIRE(by_zlib.has_value());
      CHECK(*by_zlib == c.data);
      const auto by_isal = inflate_with_isal(deflated, c.data.size());
      REQUIRE(by_isal.has_value());
      CHECK(*by_isal == c.data);
    }
  }

  // What it is for: a text page's rows come out well below ISA-L's level 2 (46% of it here, 82%
  // without the look one row up; 86% on the benchmark's pages) and near zlib's level 6, which
  // searches chains of up to 128 places (102.4% of it here; 105.4% with four bytes hashed instead
  // of five, 104.1% without matches extended back); noise no larger than stored.
  const Data page = text_rows(1654, 600, 1, rng);
  const std::size_t ours = deflate_in_bands(page, {1655, 1}, {}).size(), isal = isal_size(page);
  uLongf zlib6 = compressBound(static_cast<uLong>(page.size()));
  std::vector<Bytef> by_zlib6(zlib6);
  REQUIRE(compress2(by_zlib6.data(), &zlib6, page.data(), static_cast<uLong>(page.size()), 6) == Z_OK);
  CAPTURE(ours);
  CAPTURE(isal);
  CAPTURE(zlib6);
  CHECK(ours * 100 <= isal * 70);
  CHECK(ours * 1000 <= zlib6 * 1035);
  CHECK(deflate_in_bands(noise, {1000, 1}, {}).size() <= noise.size() + 5 * (noise.size() / 16384 + 4));
}

TEST_CASE("row deflater: Huffman code lengths are limited, complete and optimal where the limit allows") {
  const auto kraft_is_one = [](const std::vector<std::uint8_t>& lengths) {
    std::uint64_t sum = 0;  // in units of 2^-15
    for (const auto l : lengths)
      if (l) sum += std::uint64_t{1} << (15 - l);
    return sum == (std::uint64_t{1} << 15);
  };
  // Fibonacci frequencies: unlimited Huffman codes would be 29 bits deep.
  std::vector<std::uint32_t> fib(30);
  fib[0] = fib[1] = 1;
  for (std::size_t i = 2; i < fib.size(); ++i) fib[i] = fib[i - 1] + fib[i - 2];
  for (const int limit : {15, 7}) {
    CAPTURE(limit);
    std::vector<std::uint8_t> lengths(fib.size());
    huffman_code_lengths(fib, limit, lengths);
    CHECK(*std::max_element(lengths.begin(), lengths.end()) <= limit);
    CHECK(std::count(lengths.begin(), lengths.end(), 0) == 0);
    CHECK(kraft_is_one(lengths));
  }
  // Without the limit in the way: Huffman's own lengths (worked by hand), zeros where no frequency.
  std::vector<std::uint32_t> freq{10, 0, 1, 1, 2, 4, 0};
  std::vector<std::uint8_t> lengths(freq.size());
  huffman_code_lengths(freq, 15, lengths);
  CHECK(lengths == std::vector<std::uint8_t>{1, 0, 4, 4, 3, 2, 0});
  std::vector<std::uint8_t> thirty(fib.size());
  CHECK_THROWS(huffman_code_lengths(fib, 4, thirty));  // 30 symbols cannot have codes of 4 bits
}

TEST_CASE("the automatic deflater: the row deflater on a text page's rows, the caller's fallback on noise, others as set") {
  std::mt19937 rng(5);
  CodecScratch scratch;
  using S = PngEncoderSettings;
  const S automatic{S::Filter::none, S::Deflater::automatic, 0};
  // TIFF's fallback unless another is given (a PNG's is libdeflate 6).
  const auto resolve = [&](const Data& rows, std::size_t stride, S::Deflater fallback = S::Deflater::isal,
                           int fallback_level = 2) {
    const int height = static_cast<int>(rows.size() / stride);
    const S resolved = resolve_deflater(automatic, height, {stride, 1}, [&](int first, int count, std::uint8_t* to) {
      std::copy_n(rows.begin() + static_cast<std::ptrdiff_t>(stride * first), stride * count, to);
    }, scratch, fallback, fallback_level);
    CHECK(scratch.sample.size() == stride * std::min<std::size_t>(height, 3 * kDeflaterSampleRows));
    return resolved;
  };
  (void)resolve(text_rows(300, 40, 1, rng), 301);  // fewer rows than three bands: all of them
  const S text = resolve(text_rows(1654, 500, 1, rng), 1655);
  CHECK(text.deflater == S::Deflater::rows);
  Data noise(1655 * 300);
  for (auto& v : noise) v = static_cast<std::uint8_t>(128 + static_cast<int>(rng() % 64));
  const S noisy = resolve(noise, 1655);
  CHECK(noisy.deflater == S::Deflater::isal);
  CHECK(noisy.level == 2);
  const S noisy_png = resolve(noise, 1655, S::Deflater::libdeflate, 6);
  CHECK(noisy_png.deflater == S::Deflater::libdeflate);
  CHECK(noisy_png.level == 6);
  const S fixed{S::Filter::adaptive, S::Deflater::libdeflate, 6};
  scratch.sample.clear();
  const S same = resolve_deflater(fixed, 100, {}, [](int, int, std::uint8_t*) { FAIL("sampled for a fixed deflater"); },
                                  scratch, S::Deflater::isal, 2);
  CHECK((same.filter == fixed.filter && same.deflater == fixed.deflater && same.level == fixed.level));
  CHECK(resolve_deflater(automatic, 0, {1, 1}, [](int, int, std::uint8_t*) {}, scratch, S::Deflater::libdeflate, 6)
            .deflater == S::Deflater::libdeflate);  // nothing to judge by: the fallback
}
