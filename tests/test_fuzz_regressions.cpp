// The fuzz target's checks (tests/fuzz) over its seeds and over every input it ever failed on.
#include <doctest/doctest.h>

#include "support.hpp"
#include "tests/fuzz/fuzz_decode.hpp"

namespace fs = std::filesystem;

TEST_CASE("fuzz: the decoder checks hold on the seeds and every regression") {
  std::size_t checked = 0;
  for (const fs::path& dir : {imgflow::test::shared_dir() / "corpus" / "pngsuite",
                             imgflow::test::source_dir() / "tests" / "fuzz" / "regressions"}) {
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().extension() == ".md") continue;
      CAPTURE(entry.path().string());
      CHECK(imgflow::fuzz::check_decoders(imgflow::test::file_bytes(entry.path())) == "");
      ++checked;
    }
  }
  CHECK(checked >= 170);  // PngSuite alone has 176 files
}

TEST_CASE("fuzz: the decoder checks hold on the formats corpus's bilevel pages (G4 and G3 fax scans, PBMs: each through the G4 coder and back)") {
  const fs::path formats = imgflow::test::shared_dir() / "corpus" / "formats";
  for (const char* name : {"Pillow__pport_g4.tif", "image-tiff__fax2d.tif", "Pillow__hopper_1bit.pbm", "TwelveMonkeys__j.pbm"}) {
    CAPTURE(name);
    REQUIRE(fs::exists(formats / name));
    CHECK(imgflow::fuzz::check_decoders(imgflow::test::file_bytes(formats / name)) == "");
  }
}
