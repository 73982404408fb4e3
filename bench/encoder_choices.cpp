// imgflow-encoder-choices: what each PNG encoder setting gives on real pages. Decodes every
// 8-bit image of the folders given, applies brightness 0.25 then contrast 0.25, then encodes
// them all with each filter strategy and deflater level: total bytes and the best of three
// timings per image (one thread). The figures behind --png-level's presets (README, "PNG levels").
// usage: imgflow-encoder-choices DIR...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "codec/decode.hpp"
#include "codec/png_fast_encode.hpp"
#include "files/file_io.hpp"
#include "kernels/apply_table.hpp"
#include "kernels/lookup_table.hpp"

using namespace imgflow;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR...\n", argv[0]);
    return 2;
  }
  const LookupTables tables = build_tables(*parse_chain("brightness=0.25,contrast=0.25"));
  std::vector<Image> images;
  for (int a = 1; a < argc; ++a) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(argv[a])) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      Image image;
      try {
        Bytes bytes;
        read_file(file, bytes);
        DecodeNotes notes;
        decode_image(bytes, DecodeOptions{}, 0, image, notes);
      } catch (const std::exception&) {
        continue;  // not an image imgflow reads
      }
      if (image.bit_depth != 8) continue;
      apply_table(image.view<const std::uint8_t>(), image.view<std::uint8_t>(), tables.lut8().data());
      image.metadata.clear();
      images.push_back(std::move(image));
    }
  }
  using F = PngEncoderSettings::Filter;
  using D = PngEncoderSettings::Deflater;
  struct Choice {
    const char* name;
    PngEncoderSettings settings;
  };
  const Choice choices[] = {
      {"none, ISA-L 1", {F::none, D::isal, 1}},           {"none, ISA-L 2", {F::none, D::isal, 2}},
      {"none, ISA-L 3", {F::none, D::isal, 3}},           {"automatic, ISA-L 2", {F::automatic, D::isal, 2}},
      {"adaptive, ISA-L 2", {F::adaptive, D::isal, 2}},   {"none, libdeflate 2", {F::none, D::libdeflate, 2}},
      {"none, libdeflate 4", {F::none, D::libdeflate, 4}}, {"none, libdeflate 6", {F::none, D::libdeflate, 6}},
      {"automatic, libdeflate 6", {F::automatic, D::libdeflate, 6}},
      {"automatic, libdeflate 9", {F::automatic, D::libdeflate, 9}},
      {"none, imgflow rows", {F::none, D::rows, 0}},      {"adaptive, imgflow rows", {F::adaptive, D::rows, 0}},
      {"automatic, imgflow rows", {F::automatic, D::rows, 0}},
      {"automatic, rows where they pay (default)", {F::automatic, D::automatic, 0}},
  };
  std::printf("%zu images\n| filter, deflater | bytes | ms per image |\n| --- | ---: | ---: |\n", images.size());
  for (const Choice& choice : choices) {
    std::size_t bytes = 0;
    double best = 1e30;
    Bytes out;
    for (int round = 0; round < 3; ++round) {
      bytes = 0;
      const auto start = std::chrono::steady_clock::now();
      for (const Image& image : images) {
        encode_png_fast(image, out, choice.settings);
        bytes += out.size();
      }
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::printf("| %s | %zu | %.1f |\n", choice.name, bytes, best * 1e3 / static_cast<double>(images.size()));
  }
  return 0;
}
