// JPEG out, through libjpeg-turbo: 8-bit gray or YCbCr 4:2:0 (as libvips and sharp write by
// default), Huffman tables made for the page, JFIF density from the resolution, the ICC profile
// in APP2 and the resume stamp as XMP in APP1.
//
// The tables: libjpeg's optimize_coding makes the best tables for the page by compressing it
// twice (the first time to count symbols, through a whole-page buffer of coefficients), which
// doubles the encoder's time. A page's statistics are much the same everywhere on it, so the
// tables are made from a sample instead: one band of MCU rows in every kSampleEvery, compressed
// with optimize_coding; the code lengths libjpeg chose for its symbols are turned back into
// frequencies, a symbol the sample lacks is weighed as the standard tables weigh it (far rarer),
// and the page is compressed once with the tables made from those (JPEG's Annex K.2, as libjpeg
// makes them). The pixels are
// those of the two-pass encode (Huffman coding is lossless); the bytes, within a fraction of a
// percent of them.
#include <csetjmp>
#include <cstdio>
// jpeglib.h needs size_t and FILE first.
#include <jerror.h>
#include <jpeglib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>

#include "codec/encode.hpp"
#include "codec/metadata.hpp"
#include "codec/xmp.hpp"

namespace imgflow {
namespace {

struct JpegFailure {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "unknown libjpeg error";
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  auto* failure = reinterpret_cast<JpegFailure*>(cinfo->err);
  cinfo->err->format_message(cinfo, failure->message);
  std::longjmp(failure->jump, 1);
}
void on_message(j_common_ptr, int) {}

// libjpeg's destination: the output buffer, grown 64 KiB at a time.
struct Destination {
  jpeg_destination_mgr manager;
  Bytes* out;
};
constexpr std::size_t kGrowth = 64 << 10;
// The buffer grown to `size`, its free part handed to libjpeg from `used` on.
void grow(j_compress_ptr cinfo, std::size_t used, std::size_t size) {
  auto* d = reinterpret_cast<Destination*>(cinfo->dest);
  try {  // nothing may throw through libjpeg's frames
    d->out->resize(size);
  } catch (...) {
    ERREXIT(cinfo, JERR_OUT_OF_MEMORY);
  }
  d->manager.next_output_byte = d->out->data() + used;
  d->manager.free_in_buffer = size - used;
}
void init_destination(j_compress_ptr cinfo) { grow(cinfo, 0, kGrowth); }
boolean empty_output_buffer(j_compress_ptr cinfo) {
  const std::size_t used = reinterpret_cast<Destination*>(cinfo->dest)->out->size();
  grow(cinfo, used, used + std::max(kGrowth, used / 2));
  return TRUE;
}
void term_destination(j_compress_ptr cinfo) {
  auto* d = reinterpret_cast<Destination*>(cinfo->dest);
  d->out->resize(d->out->size() - d->manager.free_in_buffer);
}

constexpr int kSampleEvery = 8;       // one band of MCU rows in this many makes the sample
constexpr int kSampleMinimumBands = 4;  // pages with fewer bands in the sample: two passes instead

// A Huffman table's content: code counts by length (bits[1..16]) and the symbols in code order.
struct HuffmanTable {
  std::array<UINT8, 17> bits{};
  std::array<UINT8, 256> values{};
};

// The table Annex K.2 and K.3 make for these frequencies (symbols with frequency 0 get no code),
// at most 16 bits a code and no code of all ones: Huffman's merging of the two least frequent
// (a pseudo-symbol 256 of frequency 1 reserves the all-ones code), then codes longer than 16 bits
// moved up the tree.
HuffmanTable optimal_table(std::array<long, 257> freq) {
  freq[256] = 1;
  std::array<int, 257> code_size{}, others;
  others.fill(-1);
  for (;;) {
    // c1: the least frequency (the largest symbol on a tie), c2: the next least.
    int c1 = -1, c2 = -1;
    long v = 1000000000L;
    for (int i = 0; i <= 256; ++i)
      if (freq[i] && freq[i] <= v) v = freq[i], c1 = i;
    v = 1000000000L;
    for (int i = 0; i <= 256; ++i)
      if (freq[i] && freq[i] <= v && i != c1) v = freq[i], c2 = i;
    if (c2 < 0) break;
    freq[c1] += freq[c2];
    freq[c2] = 0;
    for (++code_size[c1]; others[c1] >= 0;) ++code_size[c1 = others[c1]];
    others[c1] = c2;
    for (++code_size[c2]; others[c2] >= 0;) ++code_size[c2 = others[c2]];
  }
  std::array<int, 33> bits{};
  for (int i = 0; i <= 256; ++i)
    if (code_size[i]) ++bits[code_size[i]];
  for (int i = 32; i > 16; --i)
    while (bits[i] > 0) {
      int j = i - 2;
      while (bits[j] == 0) --j;
      bits[i] -= 2;
      bits[i - 1] += 1;
      bits[j + 1] += 2;
      bits[j] -= 1;
    }
  int longest = 16;
  while (bits[longest] == 0) --longest;
  --bits[longest];  // the pseudo-symbol's code
  HuffmanTable table;
  for (int i = 1; i <= 16; ++i) table.bits[i] = static_cast<UINT8>(bits[i]);
  int at = 0;
  for (int length = 1; length <= 32; ++length)
    for (int symbol = 0; symbol <= 255; ++symbol)
      if (code_size[symbol] == length && at < 256) table.values[at++] = static_cast<UINT8>(symbol);
  return table;
}

// Sets freq[symbol] = 2^(26 - shift - L) for each symbol that `bits` and `values` (a table's
// content) give a code of L bits: a code of L bits stands for a frequency of 2^-L.
void weigh_codes(const UINT8* bits, const UINT8* values, int shift, std::array<long, 257>& freq) {
  int at = 0;
  for (int length = 1; length <= 16; ++length)
    for (int n = 0; n < bits[length]; ++n) freq[values[at++]] = 1L << (26 - shift - length);
}

// The page's table: the sample's codes weighed as the sample coded them; a symbol the sample
// never had, as the standard table (Annex K.3, which codes every baseline symbol) weighs it, but
// 2^8 times rarer; and every symbol an 8-bit baseline scan can hold (DC: categories 0-11; AC:
// end of block, a run of 16 zeros, runs 0-15 before sizes 1-10) at least at the least, so none is
// left without a code. (A sample that misses what the page holds - its bands blank, the rest
// not - then costs about what the standard tables would, not twice that.)
HuffmanTable table_for_page(const JHUFF_TBL& seen, const HuffmanTable& standard, bool dc) {
  std::array<long, 257> freq{};
  if (dc) {
    for (int category = 0; category <= 11; ++category) freq[category] = 1;
  } else {
    freq[0x00] = freq[0xF0] = 1;
    for (int run = 0; run < 16; ++run)
      for (int size = 1; size <= 10; ++size) freq[run << 4 | size] = 1;
  }
  weigh_codes(standard.bits.data(), standard.values.data(), 8, freq);
  weigh_codes(seen.bits, seen.huffval, 0, freq);
  return optimal_table(freq);
}

HuffmanTable content_of(const JHUFF_TBL& table) {
  HuffmanTable content;
  std::memcpy(content.bits.data(), table.bits, sizeof table.bits);
  std::memcpy(content.values.data(), table.huffval, sizeof table.huffval);
  return content;
}

// The settings every compress of a page shares: size, colours, quality, DCT.
void set_up(jpeg_compress_struct& cinfo, int width, int height, int channels, int quality) {
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = channels;
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, std::clamp(quality, 1, 100), TRUE);
  cinfo.dct_method = JDCT_ISLOW;
}

void write_rows(jpeg_compress_struct& cinfo, const std::uint8_t* pixels, std::size_t row_bytes) {
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(pixels + cinfo.next_scanline * row_bytes);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
}

// The sample: every kSampleEvery-th band of MCU rows (8 rows for gray, 16 for 4:2:0), one after
// another; empty when the page has too few bands for one.
Bytes sample_of(const Image& image, int& sample_height) {
  const int band = image.channels == 1 ? 8 : 16;
  const int bands = image.height / band;
  sample_height = (bands / kSampleEvery) * band;
  if (bands / kSampleEvery < kSampleMinimumBands) return {};
  const std::size_t row_bytes = image.row_bytes(), band_bytes = row_bytes * band;
  Bytes sample(band_bytes * static_cast<std::size_t>(bands / kSampleEvery));
  for (int i = 0; i < bands / kSampleEvery; ++i)
    std::memcpy(sample.data() + band_bytes * i, image.pixels.data() + band_bytes * (i * kSampleEvery), band_bytes);
  return sample;
}

}  // namespace

void encode_jpeg(const Image& image, int quality, std::string_view software, std::string_view description, Bytes& out) {
  if (image.bit_depth != 8 || (image.channels != 1 && image.channels != 3))
    throw EncodeError("JPEG holds 8-bit gray or RGB only (this page is " + std::to_string(image.bit_depth) + "-bit " +
                      std::string(layout_name(image.channels)) + ")");
  if (image.width > JPEG_MAX_DIMENSION || image.height > JPEG_MAX_DIMENSION)
    throw EncodeError("JPEG holds at most 65,500 pixels a side (this page is " + std::to_string(image.width) + "x" +
                      std::to_string(image.height) + ")");
  const std::vector<std::uint8_t> profile = icc_profile(image);
  const std::string packet = software.empty() ? std::string() : xmp::packet(software, description);
  if (xmp::kJpegNamespace.size() + packet.size() > 65533)
    throw EncodeError("the resume stamp does not fit in a JPEG marker");
  std::string marker;
  if (!packet.empty()) (marker = xmp::kJpegNamespace) += packet;
  int sample_height = 0;
  const Bytes sample = sample_of(image, sample_height);
  Bytes sample_out;
  std::array<HuffmanTable, 4> tables, standard;  // DC luma, AC luma, DC chroma, AC chroma
  out.clear();
  jpeg_compress_struct cinfo{};
  JpegFailure failure;
  Destination destination{};
  cinfo.err = jpeg_std_error(&failure.manager);
  failure.manager.error_exit = on_error;
  failure.manager.emit_message = on_message;
  // Nothing with a destructor is made between here and the end: a longjmp skips them.
  if (setjmp(failure.jump)) {
    jpeg_destroy_compress(&cinfo);
    out.clear();
    throw EncodeError(failure.message);
  }
  jpeg_create_compress(&cinfo);
  destination.manager.init_destination = init_destination;
  destination.manager.empty_output_buffer = empty_output_buffer;
  destination.manager.term_destination = term_destination;
  cinfo.dest = &destination.manager;
  if (!sample.empty()) {
    // The sample, compressed with optimize_coding, for its tables (the bytes are thrown away).
    destination.out = &sample_out;
    set_up(cinfo, image.width, sample_height, image.channels, quality);
    for (int i = 0; i < (image.channels == 1 ? 1 : 2); ++i) {  // the standard tables, as set up
      standard[2 * i] = content_of(*cinfo.dc_huff_tbl_ptrs[i]);
      standard[2 * i + 1] = content_of(*cinfo.ac_huff_tbl_ptrs[i]);
    }
    cinfo.optimize_coding = TRUE;
    jpeg_start_compress(&cinfo, TRUE);
    write_rows(cinfo, sample.data(), image.row_bytes());
    jpeg_finish_compress(&cinfo);
    for (int i = 0; i < (image.channels == 1 ? 1 : 2); ++i) {
      tables[2 * i] = table_for_page(*cinfo.dc_huff_tbl_ptrs[i], standard[2 * i], true);
      tables[2 * i + 1] = table_for_page(*cinfo.ac_huff_tbl_ptrs[i], standard[2 * i + 1], false);
    }
  }
  destination.out = &out;
  set_up(cinfo, image.width, image.height, image.channels, quality);
  if (sample.empty()) {
    cinfo.optimize_coding = TRUE;
  } else {
    for (int i = 0; i < (image.channels == 1 ? 1 : 2); ++i) {
      for (auto [table, made] : {std::pair{cinfo.dc_huff_tbl_ptrs[i], &tables[2 * i]},
                                 std::pair{cinfo.ac_huff_tbl_ptrs[i], &tables[2 * i + 1]}}) {
        std::memcpy(table->bits, made->bits.data(), sizeof table->bits);
        std::memcpy(table->huffval, made->values.data(), sizeof table->huffval);
        table->sent_table = FALSE;
      }
    }
  }
  if (const auto dpi = resolution_dpi(image)) {
    const double x = std::round(dpi->first), y = std::round(dpi->second);
    if (x >= 1 && x <= 65535 && y >= 1 && y <= 65535) {
      cinfo.density_unit = 1;  // dots per inch
      cinfo.X_density = static_cast<UINT16>(x);
      cinfo.Y_density = static_cast<UINT16>(y);
    }
  }
  jpeg_start_compress(&cinfo, TRUE);
  if (!marker.empty()) {
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(marker.data()),
                      static_cast<unsigned>(marker.size()));
  }
  if (!profile.empty()) jpeg_write_icc_profile(&cinfo, profile.data(), static_cast<unsigned>(profile.size()));
  write_rows(cinfo, image.pixels.data(), image.row_bytes());
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
}

void encode_jpeg_output(Image& image, const EncodeSettings& settings, Bytes& out, CodecScratch&) {
  encode_jpeg(image, settings.quality ? settings.quality : kDefaultQuality, settings.software, settings.description, out);
}

Recorded read_jpeg_record(std::span<const std::uint8_t> bytes) {
  Recorded recorded;
  const std::size_t n = bytes.size();
  if (n < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8) return recorded;
  // The segments up to the first scan; the entropy-coded data after it ends with EOI.
  std::size_t at = 2;
  bool scan = false;
  while (at + 4 <= n) {
    if (bytes[at] != 0xFF) return recorded;
    const std::uint8_t marker = bytes[at + 1];
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    const std::size_t length = static_cast<std::size_t>(bytes[at + 2]) << 8 | bytes[at + 3];
    if (length < 2 || at + 2 + length > n) return recorded;
    const auto body = bytes.subspan(at + 4, length - 2);
    if (marker == 0xE1 && body.size() > xmp::kJpegNamespace.size() &&
        std::equal(xmp::kJpegNamespace.begin(), xmp::kJpegNamespace.end(), body.begin())) {
      xmp::Stamp stamp = xmp::read(body.subspan(xmp::kJpegNamespace.size()));
      recorded.software = std::move(stamp.software);
      recorded.description = std::move(stamp.source);
    }
    at += 2 + length;
    if (marker == 0xDA) {
      scan = true;
      break;
    }
  }
  recorded.whole = scan && n >= at + 2 && bytes[n - 2] == 0xFF && bytes[n - 1] == 0xD9;
  return recorded;
}

}  // namespace imgflow
