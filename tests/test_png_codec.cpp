#include <doctest/doctest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <isa-l/igzip_lib.h>
#include <oneapi/tbb/flow_graph.h>
#include <sys/mman.h>
#include <zlib.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <new>
#include <optional>
#include <random>

#include "codec/decode.hpp"
#include "files/file_io.hpp"
#include "codec/png_codec.hpp"
#include "codec/png_format.hpp"
#include "codec/png_fast_decode.hpp"
#include "pipeline/buffer_pool.hpp"
#include "pipeline/stages.hpp"
#include "codec/png_fast_encode.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

namespace {

using test::random_image;

Image decode(std::span<const std::uint8_t> bytes, std::uint64_t max_pixels = 100'000'000,
             bool verify = true) {
  Image image;
  DecodeNotes notes;
  decode_image(bytes, {max_pixels, verify}, 0, image, notes);
  return image;
}

Image decode_with_libpng(std::span<const std::uint8_t> bytes) {
  Image image;
  decode_png(bytes, {}, image);
  return image;
}

// OpenCV's reading of an encoded PNG, converted back to our layout for comparison.
Bytes opencv_pixels(const Bytes& encoded, int channels) {
  cv::Mat m = cv::imdecode(cv::Mat(1, static_cast<int>(encoded.size()), CV_8U,
                                   const_cast<std::uint8_t*>(encoded.data())),
                           cv::IMREAD_UNCHANGED);
  REQUIRE_FALSE(m.empty());
  if (channels == 2) {  // OpenCV expands gray+alpha to BGRA
    cv::Mat ga;
    cv::mixChannels(std::vector<cv::Mat>{m}, std::vector<cv::Mat>{ga = cv::Mat(m.size(), CV_MAKETYPE(m.depth(), 2))},
                    std::vector<int>{0, 0, 3, 1});
    m = ga;
  } else if (channels == 3) {
    cv::Mat rgb;
    cv::mixChannels(std::vector<cv::Mat>{m}, std::vector<cv::Mat>{rgb = cv::Mat(m.size(), m.type())},
                    std::vector<int>{0, 2, 1, 1, 2, 0});
    m = rgb;
  } else if (channels == 4) {
    cv::Mat rgba;
    cv::mixChannels(std::vector<cv::Mat>{m}, std::vector<cv::Mat>{rgba = cv::Mat(m.size(), m.type())},
                    std::vector<int>{0, 2, 1, 1, 2, 0, 3, 3});
    m = rgba;
  }
  REQUIRE(m.isContinuous());
  return Bytes(m.datastart, m.dataend);
}

}  // namespace

TEST_CASE("libpng codec round trip keeps layout, depth and every sample") {
  std::mt19937 rng(7);
  for (int channels = 1; channels <= 4; ++channels)
    for (const int depth : {8, 16})
      for (const int level : {0, 1, 6, 9}) {
        CAPTURE(channels);
        CAPTURE(depth);
        CAPTURE(level);
        const Image image = random_image(37, 11, channels, depth, rng);
        Bytes encoded;
        encode_png(image, encoded, {.zlib_level = level});
        REQUIRE(is_png(encoded));
        const Image decoded = decode_with_libpng(encoded);
        CHECK(decoded.width == 37);
        CHECK(decoded.height == 11);
        CHECK(decoded.channels == channels);
        CHECK(decoded.bit_depth == depth);
        CHECK(decoded.pixels == image.pixels);
      }
}

TEST_CASE("fast encoder: every preset and layout decodes exactly with libpng and with OpenCV") {
  std::mt19937 rng(11);
  using S = PngEncoderSettings;
  std::vector<PngLevel> levels(png_levels().begin(), png_levels().end());
  levels.push_back({"adaptive+isal3", "", {S::Filter::adaptive, S::Deflater::isal, 3}});
  levels.push_back({"none+libdeflate1", "", {S::Filter::none, S::Deflater::libdeflate, 1}});
  levels.push_back({"adaptive+rows", "", {S::Filter::adaptive, S::Deflater::rows, 0}});
  for (const PngLevel& level : levels)
    for (int channels = 1; channels <= 4; ++channels)
      for (const int depth : {8, 16})
        // 1500x900 RGB is over 2 MiB filtered: deflated in parallel bands with ISA-L.
        for (const auto& [w, h] : {std::pair{1, 1}, {33, 17}, {1500, 900 / channels}}) {
          CAPTURE(level.name);
          CAPTURE(channels);
          CAPTURE(depth);
          CAPTURE(w);
          Image image = random_image(w, h, channels, depth, rng, /*smooth=*/w > 100);
          image.metadata.push_back({{'p', 'H', 'Y', 's'}, {0, 0, 0x2E, 0x23, 0, 0, 0x2E, 0x23, 1}});
          Bytes encoded;
          encode_png_fast(image, encoded, level.settings);
          const Image by_libpng = decode_with_libpng(encoded);
          CHECK(by_libpng.width == w);
          CHECK(by_libpng.height == h);
          CHECK(by_libpng.channels == channels);
          CHECK(by_libpng.bit_depth == depth);
          REQUIRE(by_libpng.pixels == image.pixels);
          REQUIRE(by_libpng.metadata.size() == 1);
          CHECK(by_libpng.metadata[0].data == image.metadata[0].data);
          if (depth == 8) CHECK(opencv_pixels(encoded, channels) == image.pixels);
          const Image by_fast = decode(encoded);
          CHECK(by_fast.pixels == image.pixels);
        }
}

TEST_CASE("fast encoder output is the same whatever the thread count") {
  std::mt19937 rng(12);
  const Image image = random_image(2000, 1500, 1, 8, rng, true);  // 3 MB: several bands
  Bytes serial, parallel;
  {
    oneapi::tbb::task_arena one(1);
    one.execute([&] { encode_png_fast(image, serial, find_png_level("default")->settings, isolated_band_runner()); });
  }
  encode_png_fast(image, parallel, find_png_level("default")->settings, isolated_band_runner());
  Bytes by_serial_runner;
  encode_png_fast(image, by_serial_runner, find_png_level("default")->settings);
  CHECK(serial == by_serial_runner);
  CHECK(serial == parallel);
  CHECK(decode(serial).pixels == image.pixels);
}

// The pipeline encodes many images at once from a flow graph, and each encode runs its deflate
// bands with a nested parallel_for (isolated_band_runner()), with working memory from a pool. An
// encode must never share working memory with another (per-thread buffers once did: a thread
// waiting for its bands picked up another image's encode, and one output in ten had a wrong
// Adler-32 under load). Many encodes from a flow graph on four threads, as the pipeline runs
// them, each compared with its serial bytes.
TEST_CASE("fast encoder: concurrent encodes with nested bands each give their own bytes") {
  std::mt19937 rng(5);
  constexpr int kImages = 24;
  std::vector<Image> images;
  std::vector<Bytes> expected(kImages);
  for (int i = 0; i < kImages; ++i) images.push_back(random_image(1200, 1000, 3, 8, rng, true));  // 3 bands
  const auto settings = find_png_level("default")->settings;
  {
    oneapi::tbb::task_arena one(1);
    one.execute([&] {
      for (int i = 0; i < kImages; ++i) encode_png_fast(images[i], expected[i], settings);
    });
  }
  const oneapi::tbb::global_control threads(oneapi::tbb::global_control::max_allowed_parallelism, 4);
  oneapi::tbb::task_arena four(4);
  ScratchPool pool;
  for (int round = 0; round < 2; ++round) {
    std::vector<Bytes> got(kImages);
    four.execute([&] {
      oneapi::tbb::flow::graph graph;
      oneapi::tbb::flow::function_node<int> encode(graph, oneapi::tbb::flow::unlimited, [&](int i) {
        const ScratchPool::Lease scratch = pool.lease();
        encode_png_fast(images[i], got[i], settings, isolated_band_runner(), *scratch);
      });
      for (int i = 0; i < kImages; ++i) encode.try_put(i);
      graph.wait_for_all();
    });
    for (int i = 0; i < kImages; ++i) {
      CAPTURE(round);
      CAPTURE(i);
      CHECK(got[i] == expected[i]);
    }
  }
}

// ISA-L 2.30 starts a stream without history by hashing a register that still holds the
// address of its isal_zstream, so its output can depend on where that object lies (found as
// one page in a few hundred deflating differently on one thread of a run). Placed 64 KiB apart
// across 4 GiB of address space: raw ISA-L differs at some placements; imgflow's deflate, which
// never starts without history, must give the same bytes at all of them.
namespace {

// A PNG's image data: its IDAT chunks' contents joined (a zlib stream).
std::vector<std::uint8_t> image_data_of(std::span<const std::uint8_t> png) {
  std::vector<std::uint8_t> idat;
  for (std::size_t at = 8; at + 12 <= png.size();) {
    const std::uint32_t length = png::load_be32(png.data() + at);
    if (length > png.size() - at - 12) break;
    if (std::memcmp(png.data() + at + 4, "IDAT", 4) == 0)
      idat.insert(idat.end(), png.data() + at + 8, png.data() + at + 8 + length);
    at += 12 + length;
  }
  return idat;
}

// zlib's own inflate of a whole stream (the independent reference): zlib-wrapped, or raw with
// `window_bits` -15; nullopt when zlib refuses it.
std::optional<std::vector<std::uint8_t>> zlib_inflate(std::span<const std::uint8_t> stream, int window_bits = 15) {
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) return std::nullopt;
  std::vector<std::uint8_t> out(1 << 16);
  z.next_in = const_cast<Bytef*>(stream.data());
  z.avail_in = static_cast<uInt>(stream.size());
  int status = Z_OK;
  while (status == Z_OK) {
    if (z.total_out == out.size()) out.resize(out.size() * 2);
    z.next_out = out.data() + z.total_out;
    z.avail_out = static_cast<uInt>(out.size() - z.total_out);
    status = inflate(&z, Z_NO_FLUSH);
    if (status == Z_BUF_ERROR && z.avail_out == 0) status = Z_OK;
  }
  out.resize(z.total_out);
  inflateEnd(&z);
  if (status != Z_STREAM_END) return std::nullopt;
  return out;
}

std::vector<std::uint8_t> zlib_deflate(std::span<const std::uint8_t> data, int level, int strategy) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, level, Z_DEFLATED, 15, 8, strategy) == Z_OK);
  std::vector<std::uint8_t> out(deflateBound(&z, static_cast<uLong>(data.size())));
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

TEST_CASE("ISA-L deflate: the same bytes wherever its stream state lies") {
  constexpr std::size_t kStep = std::size_t{1} << 16, kSpan = std::size_t{1} << 32;
  void* region = ::mmap(nullptr, kSpan, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (region == MAP_FAILED) {
    test::skip("cannot reserve 4 GiB of address space");
    return;
  }
  auto* base = static_cast<std::uint8_t*>(region);
  // Two rows of a white page as PNG filters them: filter byte 0, then 300 samples of 255.
  std::vector<std::uint8_t> data(602, 255);
  data[0] = data[301] = 0;
  std::vector<std::uint8_t> level_buffer(ISAL_DEF_LVL3_DEFAULT), out(4096), first;
  const auto raw_isal = [&](isal_zstream& stream) {
    isal_deflate_init(&stream);
    stream.level = 2;
    stream.level_buf = level_buffer.data();
    stream.level_buf_size = static_cast<std::uint32_t>(level_buffer.size());
    stream.gzip_flag = IGZIP_DEFLATE;
    stream.next_in = data.data();
    stream.avail_in = static_cast<std::uint32_t>(data.size());
    stream.next_out = out.data();
    stream.avail_out = static_cast<std::uint32_t>(out.size());
    stream.end_of_stream = 1;
    REQUIRE(isal_deflate(&stream) == COMP_OK);
    return std::vector<std::uint8_t>(out.begin(), out.begin() + stream.total_out);
  };
  Bytes our_level_buffer;
  const auto ours = [&](isal_zstream& stream) {
    const std::size_t n =
        isal_deflate_range(data, 0, data.size(), true, 2, out.data(), out.size(), stream, our_level_buffer);
    return std::vector<std::uint8_t>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
  };
  std::vector<std::size_t> odd_placements;
  std::size_t placements = 0;
  for (std::size_t at = 0; at + sizeof(isal_zstream) <= kSpan; at += kStep) {  // (it spans ~82 KiB)
    auto* stream = new (base + at) isal_zstream;
    auto bytes = raw_isal(*stream);
    ++placements;
    if (at == 0) first = std::move(bytes);
    else if (bytes != first) odd_placements.push_back(at);
    ::madvise(base + at, sizeof(isal_zstream), MADV_DONTNEED);
  }
  MESSAGE("raw ISA-L deflated differently at " << odd_placements.size() << " of " << placements << " placements");
  const auto expected = ours(*new (base) isal_zstream);
  odd_placements.resize(std::min<std::size_t>(odd_placements.size(), 64));
  for (const std::size_t at : odd_placements) {
    CAPTURE(at);
    CHECK(ours(*new (base + at) isal_zstream) == expected);
  }
  CHECK(ours(*new (base + kSpan / 2) isal_zstream) == expected);
  // And what it wrote is the data: a raw deflate stream zlib inflates back.
  CHECK(zlib_inflate(expected, -15) == data);
  ::munmap(region, kSpan);
}

TEST_CASE("fast decoder equals libpng on every corpus PNG it accepts, and declines the rest") {
  std::size_t fast = 0, declined = 0;
  for (const char* corpus : {"pngsuite", "real"}) {
    for (const auto& entry : fs::recursive_directory_iterator(test::shared_dir() / "corpus" / corpus)) {
      if (entry.path().extension() != ".png") continue;
      CAPTURE(entry.path().string());
      const auto bytes = test::file_bytes(entry.path());
      Image by_fast;
      CodecScratch scratch;
      if (!decode_png_fast(bytes, {}, by_fast, scratch)) {
        ++declined;
        continue;
      }
      ++fast;
      CHECK(entry.path().filename().string()[0] != 'x');  // the corrupt files never pass
      const Image by_libpng = decode_with_libpng(bytes);
      CHECK(by_fast.width == by_libpng.width);
      CHECK(by_fast.height == by_libpng.height);
      CHECK(by_fast.channels == by_libpng.channels);
      CHECK(by_fast.bit_depth == by_libpng.bit_depth);
      CHECK(by_fast.pixels == by_libpng.pixels);
      REQUIRE(by_fast.metadata.size() == by_libpng.metadata.size());
      for (std::size_t i = 0; i < by_fast.metadata.size(); ++i) {
        CHECK(by_fast.metadata[i].type == by_libpng.metadata[i].type);
        CHECK(by_fast.metadata[i].data == by_libpng.metadata[i].data);
      }
    }
  }
  MESSAGE("fast path decoded " << fast << " corpus files, declined " << declined);
  CHECK(fast >= 100);
  CHECK(declined >= 100);  // palette, low bit depths, interlaced, tRNS and the corrupt ones
}

TEST_CASE("decoder refuses bad data with a reason") {
  std::mt19937 rng(8);
  const Image image = random_image(20, 20, 3, 8, rng);
  Bytes good;
  encode_png_fast(image, good, {});

  CHECK_THROWS_WITH_AS(decode({}), "empty file", std::runtime_error);

  auto truncated = good;
  truncated.resize(good.size() / 2);
  CHECK_THROWS_AS(decode(truncated), std::runtime_error);

  auto bad_crc = good;
  bad_crc[29] ^= 0xFF;  // the IHDR CRC
  CHECK_THROWS_WITH_AS(decode(bad_crc), doctest::Contains("CRC"), std::runtime_error);

  const std::vector<std::uint8_t> text{'h', 'e', 'l', 'l', 'o'};
  CHECK_THROWS_WITH_AS(decode(text), doctest::Contains("not a readable image"), std::runtime_error);

  // The codec names the limit; the command line adds its flag (tested end to end).
  CHECK_THROWS_WITH_AS(decode(good, 399), "20x20 is 400 pixels, over the limit of 399", PixelLimitError);
  CHECK_NOTHROW(decode(good, 400));
}

TEST_CASE("checksums: verified by default, skipped on request, pixels unaffected either way") {
  std::mt19937 rng(9);
  const Image image = random_image(64, 64, 1, 8, rng);
  Bytes good;
  encode_png_fast(image, good, {});
  const auto chunks_end = good.size() - 12;  // IEND is the last 12 bytes
  auto bad_idat_crc = good;
  bad_idat_crc[chunks_end - 1] ^= 0x55;  // the IDAT CRC, just before IEND
  auto bad_adler = good;
  bad_adler[chunks_end - 5] ^= 0x55;  // the Adler-32, just before the IDAT CRC
  // Keep the IDAT CRC consistent so only the Adler-32 is wrong.
  {
    const std::size_t idat_at = 33;  // signature + IHDR
    const std::uint32_t length = png::load_be32(bad_adler.data() + idat_at);
    png::store_be32(bad_adler.data() + idat_at + 8 + length,
                    png::chunk_crc(bad_adler.data() + idat_at + 4, 4 + length));
  }
  for (const Bytes* damaged : {&bad_idat_crc, &bad_adler}) {
    CHECK_THROWS_AS(decode(*damaged), std::runtime_error);
    CHECK(decode(*damaged, 1'000'000, /*verify=*/false).pixels == image.pixels);
  }
}

TEST_CASE("files: atomic write replaces the target and leaves no temporary file") {
  test::TempDir dir;
  const fs::path target = dir / "sub" / "out.png";
  const std::vector<std::uint8_t> first{1, 2, 3}, second{4, 5};
  write_file_atomically(target, first);
  CHECK(read_file(target) == first);
  write_file_atomically(target, second);
  CHECK(read_file(target) == second);
  CHECK(test::files_below(dir.path()) == std::vector<std::string>{"sub/out.png"});

  CHECK_THROWS_WITH_AS(read_file(dir / "missing.png"), doctest::Contains("No such file"), std::runtime_error);
  CHECK_THROWS_WITH_AS(read_file(dir / "sub"), doctest::Contains("Is a directory"), std::runtime_error);
  // A file where a directory must go.
  CHECK_THROWS_WITH_AS(write_file_atomically(target / "x.png", first),
                       doctest::Contains("cannot create directory"), std::runtime_error);
}

// A first touch of memory is what a batch's first pages pay for (on the 2-core VM here about
// 5-10 us a 4 KiB page): a buffer grown twice is touched twice, and a pooled buffer that is too
// small for the next file or output is touched again. Each is read or written into one
// allocation with a quarter to spare, which the next, somewhat larger one reuses as it is.
TEST_CASE("files and PNG outputs go into one allocation, which a pooled buffer reuses for a larger one") {
  test::TempDir dir;
  const std::vector<std::uint8_t> small(100'000, 7), larger(120'000, 9);
  write_file_atomically(dir / "small.bin", small);
  write_file_atomically(dir / "larger.bin", larger);
  Bytes bytes;
  read_file(dir / "small.bin", bytes);
  CHECK(bytes.size() == small.size());
  CHECK(bytes.capacity() <= small.size() + small.size() / 4 + 1);  // not grown to twice the file
  const std::uint8_t* const first = bytes.data();
  bytes.clear();  // as the files' pool gives it back
  read_file(dir / "larger.bin", bytes);
  CHECK(std::equal(bytes.begin(), bytes.end(), larger.begin(), larger.end()));
  CHECK(bytes.data() == first);

  std::mt19937 rng(3);
  const Image page = random_image(1654, 2339, 1, 8, rng, true);  // 3.9 MB: three bands joined
  Bytes out;
  // ISA-L's bands (the default's deflater for such a page is libdeflate, in one piece).
  encode_png_fast(page, out, find_png_level("fast")->settings, isolated_band_runner());
  CHECK(out.capacity() <= (out.size() + 64) * 5 / 4 + 1);
  CHECK(decode(out).pixels == page.pixels);
}

// The default's deflater where the row deflater does not pay (noise, photographs) is
// libdeflate's level 6, as `compact` (at most sharp's bytes on noisy scans; ISA-L 2's were
// 1.054x), and the row deflater's where it does.
TEST_CASE("the default PNG: a noisy page deflated as compact's libdeflate 6, smaller than fast's ISA-L 2") {
  std::mt19937 rng(11);
  const Image noisy = random_image(900, 700, 3, 8, rng, false);
  Bytes by_default, by_compact, by_fast;
  encode_png_fast(noisy, by_default, find_png_level("default")->settings, isolated_band_runner());
  encode_png_fast(noisy, by_compact, find_png_level("compact")->settings, isolated_band_runner());
  encode_png_fast(noisy, by_fast, find_png_level("fast")->settings, isolated_band_runner());
  CHECK(by_default == by_compact);
  CHECK(by_default.size() < by_fast.size());
  CHECK(decode(by_default).pixels == noisy.pixels);
}

TEST_CASE("a bilevel row's bits past its last pixel are zero, whatever the reused buffer held") {
  // 500 pixels a row: 63 bytes, the last with 4 bits of padding, which libpng leaves as the
  // destination had them. A batch reuses buffers, so without clearing them the same input
  // could be encoded to different files depending on the image before it.
  const auto bytes = read_file(test::shared_dir() / "corpus" / "real" / "pillow__hopper_bw_500.png");
  Image fresh, reused;
  DecodeNotes notes;
  decode_image(bytes, DecodeOptions{}, 0, fresh, notes);
  REQUIRE(fresh.bit_depth == 1);
  REQUIRE(fresh.width % 8 != 0);
  reused.pixels.assign(fresh.pixels.size(), 0xFF);
  decode_image(bytes, DecodeOptions{}, 0, reused, notes);
  CHECK(reused.pixels == fresh.pixels);
  const std::size_t row = fresh.row_bytes();
  for (int y = 0; y < fresh.height; ++y) REQUIRE((reused.pixels[y * row + row - 1] & 0x0F) == 0);
  Bytes first, second;
  encode_png_fast(fresh, first, PngEncoderSettings{});
  encode_png_fast(reused, second, PngEncoderSettings{});
  CHECK(first == second);
}

TEST_CASE("image buffers of 2 MiB or more start on a 2 MiB boundary and are offered for huge pages") {
  Bytes small, large, grown;
  small.resize(100'000);
  large.resize(1654 * 2339);
  grown.resize(1'000'000);
  grown.resize(5'000'000);  // reallocated past the threshold
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  CHECK(reinterpret_cast<std::uintptr_t>(large.data()) % kHuge == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(grown.data()) % kHuge == 0);
  small.assign(small.size(), 7);
  std::fill(large.begin(), large.end(), std::uint8_t{7});
  CHECK(large.back() == 7);
  // Whether the kernel gave huge pages (that depends on its settings and free memory) is
  // reported, not asserted: AnonHugePages of this process's mapping.
  std::ifstream smaps("/proc/self/smaps_rollup");
  for (std::string line; std::getline(smaps, line);)
    if (line.rfind("AnonHugePages:", 0) == 0) MESSAGE(line);
}


TEST_CASE("inflaters: ISA-L and libdeflate give the same verdict and bytes on streams of every kind, whole and damaged") {
  // Streams: the image data of every corpus PNG (zlib, libpng and other writers at every level),
  // and zlib's stored, fixed-Huffman and run-length streams of a noisy and a smooth image.
  std::vector<std::vector<std::uint8_t>> streams;
  for (const char* corpus : {"pngsuite", "real"})
    for (const auto& entry : fs::recursive_directory_iterator(test::shared_dir() / "corpus" / corpus))
      if (entry.path().extension() == ".png") streams.push_back(image_data_of(test::file_bytes(entry.path())));
  std::mt19937 rng(22);
  for (const bool smooth : {false, true}) {
    const Image image = random_image(300, 200, 3, 8, rng, smooth);
    for (const auto& [level, strategy] : {std::pair{0, Z_DEFAULT_STRATEGY}, std::pair{6, Z_FIXED}, std::pair{6, Z_RLE},
                                         std::pair{9, Z_DEFAULT_STRATEGY}})
      streams.push_back(zlib_deflate(image.pixels, level, strategy));
  }

  CodecScratch scratch;
  std::size_t whole = 0, damaged = 0, accepted_damaged = 0;
  // libdeflate's verdict and bytes, and the same from the automatic choice and (verified) ISA-L.
  const auto both = [&](std::span<const std::uint8_t> stream, std::size_t out_size, bool verify) {
    std::vector<std::uint8_t> by_libdeflate(out_size, 0xAA), chosen(out_size, 0x55);
    const bool ok = inflate_image_data(stream, by_libdeflate, verify, scratch, Inflater::libdeflate);
    const bool chosen_ok = inflate_image_data(stream, chosen, verify, scratch);
    CHECK(chosen_ok == ok);
    if (ok && chosen_ok) CHECK(chosen == by_libdeflate);
    if (verify) {
      std::vector<std::uint8_t> by_isal(out_size, 0x5A);
      const bool isal_ok = inflate_image_data(stream, by_isal, verify, scratch, Inflater::isal);
      CHECK(isal_ok == ok);
      if (ok && isal_ok) CHECK(by_isal == by_libdeflate);
    }
    return std::pair{ok, by_libdeflate};
  };
  for (const auto& stream : streams) {
    const auto reference = zlib_inflate(stream);
    if (!reference) continue;  // damaged in the corpus on purpose (x*.png): below, damage of our own
    CAPTURE(stream.size());
    CAPTURE(reference->size());
    ++whole;
    for (const bool verify : {true, false}) {
      const auto [ok, bytes] = both(stream, reference->size(), verify);
      CHECK(ok);
      CHECK(bytes == *reference);
      // One byte more or fewer than the stream gives: refused by both.
      CHECK(!both(stream, reference->size() + 1, verify).first);
      if (!reference->empty()) CHECK(!both(stream, reference->size() - 1, verify).first);
    }
    if (reference->size() > (4 << 20)) continue;  // damage the smaller ones (time under the sanitizers)
    for (int variant = 0; variant < 12; ++variant) {
      CAPTURE(variant);
      std::vector<std::uint8_t> bad = stream;
      std::uniform_int_distribution<std::size_t> at(0, bad.size() - 1);
      switch (variant % 4) {
        case 0: bad.resize(at(rng)); break;                                           // cut
        case 1: bad[at(rng)] ^= static_cast<std::uint8_t>(1 + rng() % 255); break;     // a byte changed
        case 2: for (int i = 0; i < 8; ++i) bad[at(rng)] = static_cast<std::uint8_t>(rng()); break;
        default: bad.resize(bad.size() - 4 + variant / 4); break;                      // Adler-32 cut short
      }
      for (const bool verify : {true, false}) {
        CAPTURE(verify);
        ++damaged;
        const auto [ok, bytes] = both(bad, reference->size(), verify);
        // Verified, nothing damaged ever passes with other bytes than the stream's. (Unverified,
        // the automatic choice is libdeflate's verdict: ISA-L there would pass a stream with an
        // over-subscribed set of distance codes that zlib and libdeflate refuse - seen here.)
        if (ok && verify) CHECK(bytes == *reference);
        accepted_damaged += ok;
      }
    }
  }
  MESSAGE(whole << " whole streams, " << damaged << " damaged inflates, " << accepted_damaged
                << " of them accepted alike by both");
  CHECK(whole >= 200);
}
