// End-to-end over hostile inputs the test forges from PngSuite and the sample pages: truncations,
// bad CRCs and Adler-32s, forged lengths and dimensions, broken palettes, text and
// decompression bombs, wrong formats behind a .png name, and seeded random byte flips. Every
// case has an expected outcome (written, or failed with a named reason); the batch must
// finish, with each input either written or listed as failed, and memory bounded.
#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "kernels/lookup_table.hpp"
#include "files/listing.hpp"
#include "codec/png_format.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;
using Bytes8 = std::vector<std::uint8_t>;

namespace {

struct Chunk {
  std::string type;
  Bytes8 data;
};

std::vector<Chunk> parse_chunks(const Bytes8& file) {
  std::vector<Chunk> chunks;
  for (std::size_t at = 8; at + 12 <= file.size();) {
    const std::uint32_t length = png::load_be32(file.data() + at);
    if (length > file.size() - at - 12) break;
    chunks.push_back({std::string(file.begin() + at + 4, file.begin() + at + 8),
                      Bytes8(file.begin() + at + 8, file.begin() + at + 8 + length)});
    at += 12 + length;
  }
  return chunks;
}

// Writes chunks with correct lengths and CRCs: forgeries that only a semantic check can catch.
Bytes8 serialize(const std::vector<Chunk>& chunks) {
  Bytes out(png::kSignature.begin(), png::kSignature.end());
  for (const Chunk& c : chunks) png::append_chunk(out, c.type, c.data);
  return {out.begin(), out.end()};
}

std::size_t find_chunk(const std::vector<Chunk>& chunks, std::string_view type) {
  for (std::size_t i = 0; i < chunks.size(); ++i)
    if (chunks[i].type == type) return i;
  FAIL("no " << type << " chunk");
  return 0;
}

// Byte offset of chunk `index` in the serialized file.
std::size_t chunk_offset(const std::vector<Chunk>& chunks, std::size_t index) {
  std::size_t at = 8;
  for (std::size_t i = 0; i < index; ++i) at += 12 + chunks[i].data.size();
  return at;
}

Bytes8 ihdr(std::uint32_t width, std::uint32_t height, int depth, int colour, int interlace = 0) {
  Bytes8 d(13);
  png::store_be32(d.data(), width);
  png::store_be32(d.data() + 4, height);
  d[8] = static_cast<std::uint8_t>(depth);
  d[9] = static_cast<std::uint8_t>(colour);
  d[12] = static_cast<std::uint8_t>(interlace);
  return d;
}

// A zlib stream of `size` zero bytes, made a megabyte at a time: the test process must stay
// small, since a spawned child's peak memory starts from its parent's.
Bytes8 zlib_zeros(std::size_t size) {
  z_stream z{};
  REQUIRE(deflateInit(&z, 9) == Z_OK);
  static const Bytes8 zeros(1u << 20, 0);
  Bytes8 out, buffer(1u << 16);
  for (std::size_t left = size;;) {
    const std::size_t n = std::min(left, zeros.size());
    z.next_in = const_cast<Bytes8::value_type*>(zeros.data());
    z.avail_in = static_cast<uInt>(n);
    left -= n;
    const int flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
    int status = Z_OK;
    do {
      z.next_out = buffer.data();
      z.avail_out = static_cast<uInt>(buffer.size());
      status = deflate(&z, flush);
      out.insert(out.end(), buffer.data(), buffer.data() + (buffer.size() - z.avail_out));
    } while (z.avail_out == 0);
    if (status == Z_STREAM_END) break;
  }
  deflateEnd(&z);
  return out;
}

// An 8-bit gray image of zeros: rows of a filter byte and `width` samples.
Bytes8 zero_gray_png(std::uint32_t width, std::uint32_t height) {
  return serialize({{"IHDR", ihdr(width, height, 8, 0)},
                    {"IDAT", zlib_zeros((std::size_t{width} + 1) * height)},
                    {"IEND", {}}});
}

struct Case {
  std::string name;
  Bytes8 bytes;
  bool written;               ///< expected outcome by default
  std::string reason;         ///< a substring of the error when not written
  bool written_strict;        ///< expected outcome under --strict
};

class Cases {
 public:
  void add(std::string name, Bytes8 bytes, bool written, std::string reason = {}, int strict = -1) {
    cases_.push_back({std::move(name), std::move(bytes), written, std::move(reason),
                      strict < 0 ? written : strict != 0});
  }
  const std::vector<Case>& all() const { return cases_; }

 private:
  std::vector<Case> cases_;
};

Bytes8 seed(const std::string& name) {
  return test::file_bytes(test::shared_dir() / "corpus" / "pngsuite" / name);
}

// The deterministic cases, each with its expected outcome and reason.
Cases deterministic_cases() {
  Cases cases;
  const Bytes8 page = test::file_bytes(test::data_dir() / "page-0001.png");
  const std::vector<std::pair<std::string, Bytes8>> seeds{
      {"page", page},                          // 8-bit gray: the fast decoder
      {"rgb16", seed("basn2c16.png")},         // 16-bit RGB
      {"palette", seed("basn3p08.png")},       // palette: libpng
      {"interlaced", seed("basi0g08.png")},    // Adam7: libpng
      {"gray1", seed("basn0g01.png")}};        // 1-bit gray

  // Truncations at 16 points through each file: before the end of the image data the file is
  // refused; after it (inside or without IEND) the pixels are complete, so only --strict refuses.
  for (const auto& [name, bytes] : seeds) {
    const auto chunks = parse_chunks(bytes);
    std::size_t idat_end = 0;
    for (std::size_t i = 0; i < chunks.size(); ++i)
      if (chunks[i].type == "IDAT") idat_end = chunk_offset(chunks, i) + 12 + chunks[i].data.size();
    std::set<std::size_t> cuts{0, 1, 7, 8, 9, 20, 33, idat_end - 1, idat_end, bytes.size() - 1};
    for (int k = 1; k <= 6; ++k) cuts.insert(bytes.size() * static_cast<std::size_t>(k) / 7);
    for (const std::size_t cut : cuts) {
      if (cut == 0) continue;  // the empty file is its own case below
      const bool complete = cut >= idat_end;
      cases.add(name + "-cut-" + std::to_string(cut), Bytes8(bytes.begin(), bytes.begin() + static_cast<long>(cut)),
                complete, "", complete ? 0 : -1);
    }
  }

  // Checksums. A damaged ancillary chunk is dropped by default, rejected by --strict.
  for (const auto& [name, bytes] : seeds) {
    auto chunks = parse_chunks(bytes);
    chunks.insert(chunks.begin() + 1, Chunk{"gAMA", {0, 0, 0xB1, 0x8F}});
    const Bytes8 with_gama = serialize(chunks);
    const std::size_t gama = chunk_offset(chunks, 1), idat = chunk_offset(chunks, find_chunk(chunks, "IDAT"));
    auto broken = with_gama;
    broken[gama + 8] ^= 0x40;  // gAMA data: CRC mismatch in an ancillary chunk
    cases.add(name + "-bad-ancillary-crc", broken, true, "CRC error in gAMA chunk", 0);
    broken = with_gama;
    broken[8 + 8] ^= 0x01;     // IHDR's width
    cases.add(name + "-bad-ihdr-crc", broken, false, "IHDR: CRC error (the header is damaged)");
    broken = with_gama;
    broken[idat + 8 + chunks[find_chunk(chunks, "IDAT")].data.size() / 2] ^= 0x10;
    cases.add(name + "-bad-idat-crc", broken, false, "CRC");
    broken = with_gama;
    broken[idat + 4 + 4 + chunks[find_chunk(chunks, "IDAT")].data.size()] ^= 0xFF;  // the CRC field itself
    cases.add(name + "-bad-idat-crc-field", broken, false, "CRC");
  }
  {  // Adler-32: the last 4 bytes of the zlib stream, CRCs recomputed.
    auto chunks = parse_chunks(page);
    std::size_t last = 0;
    for (std::size_t i = 0; i < chunks.size(); ++i)
      if (chunks[i].type == "IDAT") last = i;
    auto& idat = chunks[last].data;
    idat[idat.size() - 1] ^= 0x01;
    cases.add("page-bad-adler32", serialize(chunks), false, "");
  }

  // Formats behind a .png name, and not images at all.
  cases.add("empty", {}, false, "empty file");
  cases.add("signature-only", Bytes8(png::kSignature.begin(), png::kSignature.end()), false, "");
  cases.add("gif", {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0, ';'}, false, "no frame");  // a GIF with no image
  cases.add("pdf", {'%', 'P', 'D', 'F', '-', '1', '.', '4', '\n'}, false, "the file is a PDF");
  cases.add("text", {'h', 'e', 'l', 'l', 'o', '\n'}, false, "not a readable image");
  {  // A real JPEG behind a .png name is decoded as the JPEG it is.
    cv::Mat gray(48, 64, CV_8UC1, cv::Scalar(0));
    cv::circle(gray, {32, 24}, 15, cv::Scalar(200), -1);
    std::vector<std::uint8_t> jpeg;
    REQUIRE(cv::imencode(".jpg", gray, jpeg));
    cases.add("jpeg-named-png", Bytes8(jpeg.begin(), jpeg.end()), true);
  }
  // Once aborted the whole process in OpenCV's DICOM decoder (a fuzz regression).
  cases.add("fuzz-dicom-abort",
            test::file_bytes(test::source_dir() / "tests/fuzz/regressions/crash-f4a1eb7d6323c096db9155f746770515f8ef21d1"),
            false, "not a readable image");
  cases.add("jpeg-header-only", {0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0}, false, "");

  // Forged lengths: a chunk that claims more bytes than the file has.
  for (const std::uint32_t length : {0xFFFFFFFFu, 0x7FFFFFF0u, 0x40000000u}) {
    auto bytes = page;
    const auto chunks = parse_chunks(page);
    png::store_be32(bytes.data() + chunk_offset(chunks, find_chunk(chunks, "IDAT")), length);
    cases.add("idat-length-" + std::to_string(length), bytes, false, "");
    auto with_text = chunks;
    with_text.insert(with_text.begin() + 1, Chunk{"tEXt", {'k', 0, 'v'}});
    bytes = serialize(with_text);
    png::store_be32(bytes.data() + chunk_offset(with_text, 1), length);
    cases.add("text-length-" + std::to_string(length), bytes, false, "");
  }

  // Dimensions and header fields.
  const auto with_header = [&](const Bytes8& header) {
    auto chunks = parse_chunks(page);
    chunks[0].data = header;
    return serialize(chunks);
  };
  cases.add("width-0", with_header(ihdr(0, 1100, 8, 0)), false, "");
  cases.add("height-0", with_header(ihdr(850, 0, 8, 0)), false, "");
  cases.add("width-2^31", with_header(ihdr(0x80000000u, 1100, 8, 0)), false, "");
  cases.add("10^10-pixels", with_header(ihdr(100000, 100000, 8, 0)), false, "over the limit of 200000000 (raise it with --max-pixels)");
  cases.add("forged-14000x14000", with_header(ihdr(14000, 14000, 8, 0)), false,
            "bytes of compressed data cannot hold a 14000x14000 image");
  cases.add("bad-depth", with_header(ihdr(850, 1100, 7, 0)), false, "");
  cases.add("bad-colour-type", with_header(ihdr(850, 1100, 8, 5)), false, "");
  cases.add("bad-interlace", with_header(ihdr(850, 1100, 8, 0, 2)), false, "");
  {
    auto chunks = parse_chunks(page);
    chunks.insert(chunks.begin() + 1, chunks[0]);
    cases.add("two-ihdr", serialize(chunks), false, "");
    chunks = parse_chunks(page);
    chunks.erase(chunks.begin());
    cases.add("no-ihdr", serialize(chunks), false, "");
    chunks = parse_chunks(page);
    std::erase_if(chunks, [](const Chunk& c) { return c.type == "IDAT"; });
    cases.add("no-idat", serialize(chunks), false, "too little image data: 0 bytes");
  }

  // Palettes: missing, too long, too short for the indices used.
  {
    const Bytes8 palette = seed("basn3p08.png");
    auto chunks = parse_chunks(palette);
    const std::size_t plte = find_chunk(chunks, "PLTE");
    auto missing = chunks;
    missing.erase(missing.begin() + static_cast<long>(plte));
    cases.add("palette-missing", serialize(missing), false, "");
    auto too_long = chunks;
    too_long[plte].data.resize(300 * 3);
    cases.add("palette-300-entries", serialize(too_long), false, "");
    auto too_short = chunks;
    too_short[plte].data.resize(2 * 3);
    cases.add("palette-index-out-of-range", serialize(too_short), false, "palette index");
  }

  // Bombs. A zTXt/iTXt inflating to 64 MB is never inflated; the image is written.
  {
    Bytes8 ztxt{'C', 'o', 'm', 'm', 'e', 'n', 't', 0, 0};
    const Bytes8 packed = zlib_zeros(64u << 20);
    ztxt.insert(ztxt.end(), packed.begin(), packed.end());
    Bytes8 itxt{'C', 'o', 'm', 'm', 'e', 'n', 't', 0, 1, 0, 0, 0};
    itxt.insert(itxt.end(), packed.begin(), packed.end());
    for (const auto& [name, bytes] : {std::pair{"palette", seed("basn3p08.png")}, {"page", page}}) {
      auto chunks = parse_chunks(bytes);
      chunks.insert(chunks.begin() + 1, Chunk{"zTXt", ztxt});
      chunks.insert(chunks.begin() + 1, Chunk{"iTXt", itxt});
      cases.add(std::string(name) + "-text-bomb", serialize(chunks), true);
    }
  }
  // Pixel bombs: 300 megapixels of zeros in a ~300 KB file is refused before inflating; image
  // data that inflates past the image is refused by the fast path and libpng alike.
  cases.add("pixel-bomb-300MP", zero_gray_png(30000, 10000), false, "over the limit of 200000000");
  {
    auto chunks = parse_chunks(zero_gray_png(64, 64));
    chunks[find_chunk(chunks, "IDAT")].data = zlib_zeros(65 * 64 * 100);
    cases.add("idat-inflates-100x", serialize(chunks), true);
  }
  {  // 20,000 unknown ancillary chunks, and garbage after IEND.
    auto chunks = parse_chunks(page);
    chunks.insert(chunks.begin() + 1, 20000, Chunk{"teSt", {1, 2, 3}});
    cases.add("20000-chunks", serialize(chunks), true);
    auto bytes = page;
    bytes.insert(bytes.end(), 1000, 0xEE);
    cases.add("garbage-after-iend", bytes, true);
  }
  return cases;
}

struct BatchResult {
  test::RunResult run;
  std::map<std::string, std::string> failures;  ///< file name -> "STAGE\tREASON"
  std::set<std::string> written;
};

BatchResult run_batch(const fs::path& in, const fs::path& out, std::vector<std::string> extra) {
  BatchResult result;
  const fs::path list = out.parent_path() / (out.filename().string() + "-failures.tsv");
  std::vector<std::string> args{in.string(), out.string(), "--failures", list.string(), "-q"};
  args.insert(args.end(), extra.begin(), extra.end());
  result.run = test::run_imgflow(args);
  std::ifstream failures(list);
  for (std::string line; std::getline(failures, line);) {
    const auto tab = line.find('\t');
    result.failures[fs::path(unescape_list_field(line.substr(0, tab))).filename().string()] = line.substr(tab + 1);
  }
  if (fs::exists(out))
    for (const auto& name : test::files_below(out)) result.written.insert(name);
  return result;
}

void write_cases(const fs::path& dir, const std::vector<Case>& cases) {
  fs::create_directories(dir);
  for (const Case& c : cases)
    std::ofstream(dir / (c.name + ".png"), std::ios::binary)
        .write(reinterpret_cast<const char*>(c.bytes.data()), static_cast<std::streamsize>(c.bytes.size()));
}

void check_outcomes(const std::vector<Case>& cases, const BatchResult& batch, bool strict) {
  CHECK(batch.run.exit_code == 1);
  if (test::sanitizer() != "thread")  // TSan's shadow memory adds its own
    CHECK(batch.run.max_rss_kb < 150 * 1024);  // the 300 MP bomb and the 64 MB text bombs never land in memory
  for (const Case& c : cases) {
    const std::string file = c.name + ".png";
    CAPTURE(file);
    const bool expect_written = strict ? c.written_strict : c.written;
    CHECK(batch.written.count(file) == (expect_written ? 1u : 0u));
    CHECK(batch.failures.count(file) == (expect_written ? 0u : 1u));
    if (!expect_written && batch.failures.count(file)) {
      const std::string& line = batch.failures.at(file);
      CHECK_MESSAGE(line.find("decode\t") == 0, line);
      CHECK_MESSAGE(line.size() > 9, line);  // a reason is given
      if (!c.reason.empty() && !(strict && c.written)) CHECK_MESSAGE(line.find(c.reason) != std::string::npos, line);
    }
  }
  for (const auto& name : batch.written) CHECK_MESSAGE(name.find(".imgflow-tmp.") == std::string::npos, name);
}

}  // namespace

TEST_CASE("hostile inputs: each has its expected outcome by default and under --strict") {
  const Cases cases = deterministic_cases();
  MESSAGE(cases.all().size() << " deterministic hostile cases");
  test::TempDir dir;
  write_cases(dir / "in", cases.all());
  const auto by_default = run_batch(dir / "in", dir / "out", {});
  check_outcomes(cases.all(), by_default, false);
  const auto strict = run_batch(dir / "in", dir / "strict", {"--strict"});
  check_outcomes(cases.all(), strict, true);

  // The JPEG named .png was read as a JPEG: its pixels, adjusted.
  CHECK(test::check_adjusted(dir / "in" / "jpeg-named-png.png", dir / "out" / "jpeg-named-png.png",
                             test::expected_tables("brightness=0.25,contrast=0.25")) == "");
  // A damaged ancillary chunk is dropped, not copied: the output has no gAMA.
  const auto chunks = test::read_png_chunks(dir / "out" / "page-bad-ancillary-crc.png");
  CHECK(std::none_of(chunks.begin(), chunks.end(), [](const auto& c) { return c.type == "gAMA"; }));
  const auto kept = parse_chunks(test::file_bytes(dir / "out" / "page-text-bomb.png"));
  CHECK(std::none_of(kept.begin(), kept.end(), [](const Chunk& c) { return c.type == "zTXt" || c.type == "iTXt"; }));
}

TEST_CASE("--max-pixels refuses a legitimate image over the limit, naming the limit and the flag") {
  test::TempDir dir;
  write_cases(dir / "in", {{"big", zero_gray_png(3000, 3000), false, "", false},
                           {"small", zero_gray_png(1000, 1000), true, "", true}});
  const auto batch = run_batch(dir / "in", dir / "out", {"--max-pixels", "1000000"});
  CHECK(batch.written == std::set<std::string>{"small.png"});
  REQUIRE(batch.failures.count("big.png") == 1);
  CHECK(batch.failures.at("big.png") ==
        "decode\t3000x3000 is 9000000 pixels, over the limit of 1000000 (raise it with --max-pixels)");
}

TEST_CASE("seeded random byte flips: no crash, each input written or listed as failed, outputs complete") {
  std::mt19937 random(20261124);
  const std::vector<Bytes8> seeds{test::file_bytes(test::data_dir() / "scan-rgb-0001.png"), seed("basn3p08.png"),
                                  seed("basi6a16.png"), seed("basn0g02.png"), seed("tbrn2c08.png")};
  std::vector<Case> cases;
  for (int i = 0; i < 300; ++i) {
    Bytes8 bytes = seeds[static_cast<std::size_t>(i) % seeds.size()];
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int f = 0; f < flips; ++f) {
      // Half the flips land in the first 200 bytes, where the header and palette live.
      const std::size_t span = random() % 2 ? std::min<std::size_t>(200, bytes.size()) : bytes.size();
      bytes[8 + random() % (span - 8)] ^= static_cast<std::uint8_t>(1u << (random() % 8));
    }
    cases.push_back({"flip-" + std::to_string(i), std::move(bytes), false, "", false});
  }
  MESSAGE(cases.size() << " random byte-flip cases");
  test::TempDir dir;
  write_cases(dir / "in", cases);
  for (const auto& flags : {std::vector<std::string>{}, {"--skip-checksums"}}) {
    const fs::path out = dir / (flags.empty() ? "out" : "unchecked");
    const auto batch = run_batch(dir / "in", out, flags);
    CHECK(batch.run.exit_code == 1);  // some flips must break something; never a crash (>= 128)
    for (const Case& c : cases) {
      const std::string file = c.name + ".png";
      CHECK_MESSAGE(batch.written.count(file) + batch.failures.count(file) == 1, file);
      if (batch.written.count(file)) {
        const auto s = png::inspect(test::file_bytes(out / file), true);
        CHECK_MESSAGE((s.complete && s.bad_crc_chunk.empty()), file);
      }
    }
    MESSAGE((flags.empty() ? "checked: " : "--skip-checksums: ") << batch.written.size() << " written, "
                                                                 << batch.failures.size() << " failed");
  }
}
