// imgflow-table-speed: the 8-bit table lookup's throughput on each instruction-set path this
// CPU has (a 1654x2339 gray page of noise, and the 8-bit image PAGE if given, in place, best of
// 200 passes), and the PNG unfiltering's for each filter at one and three bytes a pixel.
// Reported in docs/design.md; never asserted.
// usage: imgflow-table-speed [PAGE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "codec/decode.hpp"
#include "codec/png_unfilter.hpp"
#include "files/file_io.hpp"
#include "kernels/apply_table.hpp"
#include "kernels/lookup_table.hpp"

using namespace imgflow;
using Clock = std::chrono::steady_clock;

template <typename Body>
double best_gb_per_s(std::size_t bytes, Body body) {
  double best = 1e30;
  for (int pass = 0; pass < 200; ++pass) {
    const auto start = Clock::now();
    body();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
  }
  return static_cast<double>(bytes) / best / 1e9;
}

int main(int argc, char** argv) {
  const int width = 1654, height = 2339;
  std::mt19937 rng(1);
  const LookupTables tables = build_tables(*parse_chain("brightness=0.25,contrast=0.25"));
  Image noise;
  noise.width = width;
  noise.height = height;
  noise.channels = 1;
  noise.bit_depth = 8;
  noise.allocate();
  for (auto& v : noise.pixels) v = static_cast<std::uint8_t>(rng());
  std::vector<std::pair<std::string, Image>> pages;
  pages.emplace_back("noise", std::move(noise));
  if (argc > 1) {
    Bytes bytes;
    read_file(argv[1], bytes);
    Image image;
    DecodeNotes notes;
    decode_image(bytes, DecodeOptions{}, 0, image, notes);
    if (image.bit_depth != 8) {
      std::fprintf(stderr, "%s: not an 8-bit image\n", argv[1]);
      return 2;
    }
    pages.emplace_back(argv[1], std::move(image));
  }
  std::printf("| table lookup path | page | GB/s |\n| --- | --- | ---: |\n");
  for (auto& [name, page] : pages)
    for (const LutPath path : {LutPath::scalar, LutPath::avx2, LutPath::avx512vbmi}) {
      if (!lut_path_supported(path)) continue;
      const ImageView<std::uint8_t> view = page.view<std::uint8_t>();
      const double speed = best_gb_per_s(page.pixels.size(), [&] {
        apply_table(std::as_const(page).view<std::uint8_t>(), view, tables.lut8().data(), path);
      });
      std::printf("| %s | %s | %.1f |\n", std::string(lut_path_name(path)).c_str(), name.c_str(), speed);
    }
  std::printf("\n| unfilter path | bytes/pixel | None | Sub | Up | Avg | Paeth (GB/s) |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const png::UnfilterPath path : {png::UnfilterPath::scalar, png::UnfilterPath::sse41, png::UnfilterPath::avx2}) {
    if (!png::unfilter_path_supported(path)) continue;
    for (const int bpp : {1, 3}) {
      const std::size_t row = static_cast<std::size_t>(width) * bpp, rows = 500;
      std::vector<std::uint8_t> filtered(rows * (row + 1)), pixels(rows * row);
      std::printf("| %s | %d |", std::string(png::unfilter_path_name(path)).c_str(), bpp);
      for (int filter = 0; filter <= 4; ++filter) {
        for (std::size_t i = 0; i < filtered.size(); ++i) filtered[i] = static_cast<std::uint8_t>(rng());
        for (std::size_t y = 0; y < rows; ++y) filtered[y * (row + 1)] = static_cast<std::uint8_t>(filter);
        std::printf(" %.1f |", best_gb_per_s(pixels.size(), [&] {
                      png::unfilter_image(path, bpp, filtered.data(), pixels.data(), row, rows);
                    }));
      }
      std::printf("\n");
    }
  }
  return 0;
}
