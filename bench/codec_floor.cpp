// imgflow-codec-floor: the floor of scripts/bench --instructions. For each PNG of IN_DIR, only
// what any PNG-to-PNG tool must do: inflate its image data (libdeflate, Adler-32 checked), and
// deflate the adjusted rows (ISA-L igzip level 1, imgflow's fastest). The adjusted rows are
// taken, uncounted, from ROWS_DIR: imgflow's output of the same file at --png-level fastest
// (no row filter, so its image data is the adjusted rows as they are). No unfiltering, no table,
// no filter choice, no file written. scripts/bench counts only the two functions named counted_*
// (callgrind --toggle-collect), so reading and parsing the files is not counted.
// usage: imgflow-codec-floor IN_DIR ROWS_DIR
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "codec/png_format.hpp"
#include "files/file_io.hpp"

namespace fs = std::filesystem;

namespace {

struct Png {
  std::vector<std::uint8_t> idat;
  std::size_t filtered_size = 0;  // rows with their filter bytes
};

Png read_png(const fs::path& file) {
  const std::vector<std::uint8_t> bytes = imgflow::read_file(file);
  Png png;
  imgflow::png::ChunkWalk walk(bytes);
  for (imgflow::png::Chunk chunk; walk.next(chunk);) {
    const std::uint8_t* data = chunk.data();
    if (chunk.is("IHDR")) {
      const int channels = imgflow::png::channels_of_colour_type(data[9]);
      png.filtered_size = (std::size_t{imgflow::png::load_be32(data)} * channels * data[8] / 8 + 1) *
                          imgflow::png::load_be32(data + 4);
    }
    if (chunk.is("IDAT")) png.idat.insert(png.idat.end(), data, data + chunk.length);
  }
  return png;
}

[[gnu::noinline]] bool counted_inflate(libdeflate_decompressor* inflater, const Png& png, std::uint8_t* out) {
  std::size_t produced = 0;
  return libdeflate_zlib_decompress(inflater, png.idat.data(), png.idat.size(), out, png.filtered_size, &produced) ==
             LIBDEFLATE_SUCCESS &&
         produced == png.filtered_size;
}

[[gnu::noinline]] std::size_t counted_deflate(const std::uint8_t* rows, std::size_t size, std::uint8_t* out,
                                              std::size_t capacity, std::vector<std::uint8_t>& level_buffer) {
  isal_zstream z;
  isal_deflate_init(&z);
  z.level = 1;
  z.level_buf = level_buffer.data();
  z.level_buf_size = static_cast<std::uint32_t>(level_buffer.size());
  z.end_of_stream = 1;
  z.flush = NO_FLUSH;
  z.next_in = const_cast<std::uint8_t*>(rows);
  z.avail_in = static_cast<std::uint32_t>(size);
  z.next_out = out;
  z.avail_out = static_cast<std::uint32_t>(capacity);
  return isal_deflate(&z) == COMP_OK && z.avail_in == 0 ? z.total_out : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s IN_DIR ROWS_DIR\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(argv[1]))
    if (entry.path().extension() == ".png") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  libdeflate_decompressor* inflater = libdeflate_alloc_decompressor();
  std::vector<std::uint8_t> level_buffer(ISAL_DEF_LVL1_DEFAULT);
  std::uint64_t deflated_total = 0;
  for (const auto& file : files) {
    const Png input = read_png(file), rows = read_png(fs::path(argv[2]) / file.filename());
    const std::unique_ptr<std::uint8_t[]> pixels(new std::uint8_t[input.filtered_size]);
    const std::unique_ptr<std::uint8_t[]> adjusted(new std::uint8_t[rows.filtered_size]);
    const std::size_t capacity = rows.filtered_size + rows.filtered_size / 8 + 1024;
    const std::unique_ptr<std::uint8_t[]> out(new std::uint8_t[capacity]);
    std::size_t produced = 0;
    if (!counted_inflate(inflater, input, pixels.get()) ||
        libdeflate_zlib_decompress(inflater, rows.idat.data(), rows.idat.size(), adjusted.get(), rows.filtered_size,
                                   &produced) != LIBDEFLATE_SUCCESS) {
      std::fprintf(stderr, "imgflow-codec-floor: cannot inflate %s\n", file.c_str());
      return 1;
    }
    const std::size_t deflated = counted_deflate(adjusted.get(), rows.filtered_size, out.get(), capacity, level_buffer);
    if (deflated == 0) return 1;
    deflated_total += deflated;
  }
  libdeflate_free_decompressor(inflater);
  std::printf("%zu files, %llu bytes deflated\n", files.size(), static_cast<unsigned long long>(deflated_total));
  return 0;
}
