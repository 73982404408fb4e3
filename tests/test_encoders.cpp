// Every encoder row of the format table, in process: what it records (the resume stamp) read
// back by the row's own reader, and a file cut short never taken as whole; the XMP packet's
// escaping; the alpha flattening against a naive formula; a PDF document of many pages.
#include <doctest/doctest.h>
#include <webp/encode.h>

#include <random>
#include <string>

#include "codec/encode.hpp"
#include "codec/formats.hpp"
#include "codec/xmp.hpp"
#include "kernels/colour.hpp"
#include "support.hpp"

using namespace imgflow;

TEST_CASE("every written format records the stamp and the source, a copy cut short anywhere is not whole, changed bytes are read safely") {
  std::mt19937 rng(7);
  const std::string software = "imgflow brightness=0.25,contrast=0.25", source = "size=12 mtime=1.000000002 xxh3=00ff";
  for (const Format& format : formats()) {
    if (!format.encode) continue;
    CAPTURE(format.name);
    // A layout every row holds as it is: 8-bit RGB.
    Image image = test::random_image(64, 48, 3, 8, rng, /*smooth=*/true);
    EncodeSettings settings;
    settings.software = software;
    settings.description = source;
    Bytes out;
    CodecScratch scratch;
    format.encode(image, settings, out, scratch);
    REQUIRE(format_of(out) == &format);  // its bytes are recognised as the format
    const Recorded recorded = format.read_record(out);
    CHECK(recorded.whole);
    CHECK(recorded.software == software);
    CHECK(recorded.description == source);
    // Every length cut short is not whole (read within its bytes: the ASan build checks), and
    // random bytes changed are read without a fault.
    for (std::size_t cut = 1; cut < out.size(); ++cut) {
      if (format.name == "PDF" && cut == 1) continue;  // the newline after %%EOF is optional: still whole
      const Recorded partial = format.read_record(std::span(out).first(out.size() - cut));
      if (partial.whole) FAIL_CHECK("cut " << cut << " of " << out.size() << " bytes taken as whole");
    }
    Bytes changed = out;
    for (int round = 0; round < 2000; ++round) {
      changed[rng() % changed.size()] = static_cast<std::uint8_t>(rng());
      (void)format.read_record(changed);
    }
  }
}

TEST_CASE("the XMP packet carries quotes, ampersands and angle brackets through") {
  const std::string software = "imgflow a\"b&c<d>e", source = "size=1 & \"x\" <y>";
  const std::string packet = xmp::packet(software, source);
  const xmp::Stamp stamp = xmp::read({reinterpret_cast<const std::uint8_t*>(packet.data()), packet.size()});
  CHECK(stamp.software == software);
  CHECK(stamp.source == source);
  CHECK(packet.find("a\"b") == std::string::npos);  // escaped in the XML
}

TEST_CASE("alpha flattened onto white: every colour and alpha as the rounded naive formula") {
  std::vector<std::uint8_t> samples;
  for (int c = 0; c < 256; ++c)
    for (int a = 0; a < 256; ++a) samples.insert(samples.end(), {static_cast<std::uint8_t>(c), static_cast<std::uint8_t>(a)});
  std::vector<std::uint8_t> flat = samples;
  flatten_onto_white(flat.data(), samples.size() / 2, 2);
  for (std::size_t i = 0; i < samples.size() / 2; ++i) {
    const double c = samples[2 * i], a = samples[2 * i + 1];
    const int expected = static_cast<int>(std::floor((c * a + 255.0 * (255.0 - a)) / 255.0 + 0.5));
    REQUIRE(flat[i] == expected);
  }
}

TEST_CASE("a PDF document of many pages: pages in the order given, a page tree counting them all, the stamp at its end") {
  std::mt19937 rng(11);
  struct Memory final : DocumentFile {
    Bytes bytes;
    void write_at(std::uint64_t offset, std::span<const std::uint8_t> data) override {
      if (offset + data.size() > bytes.size()) bytes.resize(offset + data.size());
      std::copy(data.begin(), data.end(), bytes.begin() + static_cast<std::ptrdiff_t>(offset));
    }
    std::size_t read_at(std::uint64_t, std::span<std::uint8_t>) override { return 0; }
    std::uint64_t size() override { return bytes.size(); }
  } file;
  const Format& pdf = *output_format("pdf");
  auto document = pdf.open_document(file, "imgflow test");
  EncodeSettings settings;
  settings.document_page = true;
  CodecScratch scratch;
  for (int page = 0; page < 12; ++page) {
    Image image = test::random_image(10 + page, 20, 1, 8, rng);
    Bytes part;
    pdf.encode(image, settings, part, scratch);
    document->add_page(part);
  }
  document->finish("imgflow test", "files=12 xxh3=0123456789abcdef");
  const std::string text(file.bytes.begin(), file.bytes.end());
  CHECK(text.find("/Type /Pages /Count 12 ") != std::string::npos);
  for (int page = 0; page < 12; ++page) CHECK(text.find("/Width " + std::to_string(10 + page) + " ") != std::string::npos);
  CHECK(text.find("/Width 10 ") < text.find("/Width 21 "));  // in order
  const Recorded recorded = pdf.read_record(file.bytes);
  CHECK(recorded.whole);
  CHECK(recorded.software == "imgflow test");
  CHECK(recorded.description == "files=12 xxh3=0123456789abcdef");
}

TEST_CASE("lossy WebP of a gray page: byte for byte libwebp's encode of the same page imported as RGB of equal samples") {
  // imgflow fills libwebp's luma and chroma planes itself for a gray page; libwebp's own RGB
  // import of R = G = B is the reference. Odd and even sizes (chroma rows and columns cut at the
  // edge), a smooth page and noise, the qualities at the ends and the default.
  std::mt19937 rng(13);
  struct Case {
    int width, height;
    bool smooth;
    int quality;
  };
  for (const Case c : {Case{64, 48, true, 0}, Case{67, 31, false, 0}, Case{129, 65, true, 1}, Case{33, 17, false, 100},
                       Case{16, 16, false, 75}}) {
    CAPTURE(c.width);
    CAPTURE(c.quality);
    Image gray = test::random_image(c.width, c.height, 1, 8, rng, c.smooth);
    EncodeSettings settings;
    settings.quality = c.quality;
    Bytes ours;
    CodecScratch scratch;
    encode_webp_output(gray, settings, ours, scratch);

    std::vector<std::uint8_t> rgb;
    for (const std::uint8_t v : gray.pixels) rgb.insert(rgb.end(), 3, v);
    WebPConfig config;
    REQUIRE(WebPConfigInit(&config));
    config.quality = static_cast<float>(c.quality ? c.quality : 90);
    config.method = 2;
    WebPPicture picture;
    REQUIRE(WebPPictureInit(&picture));
    picture.width = c.width;
    picture.height = c.height;
    REQUIRE(WebPPictureImportRGB(&picture, rgb.data(), c.width * 3));
    WebPMemoryWriter writer;
    WebPMemoryWriterInit(&writer);
    picture.writer = WebPMemoryWrite;
    picture.custom_ptr = &writer;
    REQUIRE(WebPEncode(&config, &picture));
    const std::vector<std::uint8_t> theirs(writer.mem, writer.mem + writer.size);
    WebPMemoryWriterClear(&writer);
    WebPPictureFree(&picture);
    CHECK(std::vector<std::uint8_t>(ours.begin(), ours.end()) == theirs);
  }
}
