#include <doctest/doctest.h>

#include <unistd.h>

#include <fstream>

#include "files/listing.hpp"
#include "support.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

TEST_CASE("natural order compares digit runs by value") {
  CHECK(natural_less("2.png", "10.png"));
  CHECK_FALSE(natural_less("10.png", "2.png"));
  CHECK(natural_less("page-9.png", "page-10.png"));
  CHECK(natural_less("a1b2.png", "a1b10.png"));
  CHECK(natural_less("a.png", "b.png"));
  CHECK(natural_less("scan.png", "scan1.png"));
  CHECK(natural_less("007.png", "8.png"));
  // Equal values with different padding still have a fixed, total order.
  CHECK(natural_less("a01.png", "a1.png") != natural_less("a1.png", "a01.png"));
  CHECK_FALSE(natural_less("x.png", "x.png"));
  // Beyond 64 bits still compares by value.
  CHECK(natural_less("99999999999999999999999.png", "100000000000000000000000.png"));
}

TEST_CASE("natural order on paths goes component by component") {
  CHECK(natural_path_less("2/z.png", "10/a.png"));
  CHECK(natural_path_less("a/b/c.png", "a/b.png"));  // "b" sorts before "b.png"
  CHECK(natural_path_less("a.png", "a/b.png") != natural_path_less("a/b.png", "a.png"));
}

TEST_CASE("image extensions, any case") {
  for (const char* name : {"a.png", "b.PNG", "c.jpg", "d.JPEG", "e.tif", "f.TIFF", "g.bmp", "h.webp", "i.pnm",
                           "j.pgm", "k.ppm", "l.jp2", "m.J2K", "n.gif", "o.jpe", "p.pbm"})
    CHECK_MESSAGE(has_image_extension(name), name);
  // Not images, or formats imgflow recognises but cannot read: skipped, with the reason.
  for (const char* name : {"a.txt", "b", "c.png.bak", "png", "d.pdf", "e.zip", "f.heic"})
    CHECK_FALSE_MESSAGE(has_image_extension(name), name);
  CHECK(skip_reason("scan.PDF") == "PDF: rasterise it first, e.g. `pdftoppm -r 300 -png`");
  CHECK(skip_reason("notes.txt") == "not an image");
}

TEST_CASE("listing: natural order, hidden and non-image files skipped, recursion optional") {
  test::TempDir dir;
  for (const char* name : {"10.png", "2.png", "1.JPG", "notes.txt", ".hidden.png",
                           "sub/3.png", "sub/deeper/4.tif", ".git/5.png", "out/6.png"}) {
    fs::create_directories((dir / name).parent_path());
    std::ofstream(dir / name) << "x";
  }
  const auto flat = list_images(dir.path(), false, {});
  CHECK(flat.errors.empty());
  CHECK(test::relative_paths(flat) == std::vector<fs::path>{"1.JPG", "2.png", "10.png"});

  const auto deep = list_images(dir.path(), true, dir / "out");
  CHECK(test::relative_paths(deep) ==
        std::vector<fs::path>{"1.JPG", "2.png", "10.png", "sub/3.png", "sub/deeper/4.tif"});
}

TEST_CASE("listing reports an unreadable subdirectory instead of skipping it silently") {
  if (::geteuid() == 0) {
    // root reads everything; simulate with a directory that vanishes: a dangling entry.
    test::TempDir dir;
    fs::create_directories(dir / "ok");
    std::ofstream(dir / "ok" / "1.png") << "x";
    const auto listing = list_images(dir / "missing", true, {});
    REQUIRE(listing.errors.size() == 1);
    CHECK(listing.errors[0].reason.find("No such file") != std::string::npos);
    return;
  }
  test::TempDir dir;
  fs::create_directories(dir / "locked");
  fs::permissions(dir / "locked", fs::perms::none);
  const auto listing = list_images(dir.path(), true, {});
  REQUIRE(listing.errors.size() == 1);
  CHECK(listing.errors[0].path == dir / "locked");
}

TEST_CASE("output path: same relative path, extension replaced by .png") {
  CHECK(output_relative_path("a/b/scan.JPG") == fs::path("a/b/scan.png"));
  CHECK(output_relative_path("x.tiff") == fs::path("x.png"));
  CHECK(output_relative_path("y.png") == fs::path("y.png"));
  CHECK(output_relative_path("z.tar.bmp") == fs::path("z.tar.png"));
}

TEST_CASE("name storage: every name kept intact and NUL-terminated, outsize ones too, across many blocks") {
  NameStorage names;
  std::vector<std::string> expected;
  std::vector<std::string_view> stored;
  for (int i = 0; i < 20000; ++i) {
    std::string name = "dir/scan-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 37), 'x') + ".png";
    if (i % 5000 == 7) name = std::string(70000 + static_cast<std::size_t>(i), 'y');  // larger than a block
    expected.push_back(name);
    stored.push_back(names.store(name));
  }
  NameStorage moved = std::move(names);  // the bytes stay where they are
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    REQUIRE(stored[i] == expected[i]);
    REQUIRE(stored[i].data()[stored[i].size()] == '\0');
  }
}
