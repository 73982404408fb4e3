#include "pipeline/stages.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

#include "kernels/apply_table.hpp"
#include "pipeline/decode.hpp"
#include "pipeline/file_io.hpp"
#include "pipeline/png_format.hpp"

namespace imgflow {

namespace {

bool is_newer(const struct stat& a, const struct stat& b) {
  return a.st_mtim.tv_sec != b.st_mtim.tv_sec ? a.st_mtim.tv_sec > b.st_mtim.tv_sec
                                              : a.st_mtim.tv_nsec > b.st_mtim.tv_nsec;
}

}  // namespace

bool is_finished_output(const std::filesystem::path& output, const std::filesystem::path& input,
                        std::string_view stamp, Bytes& scratch) {
  struct stat out_info {}, in_info {};
  if (::stat(output.c_str(), &out_info) != 0 || !S_ISREG(out_info.st_mode)) return false;
  if (::stat(input.c_str(), &in_info) != 0 || !is_newer(out_info, in_info)) return false;
  try {
    read_file(output, scratch);
  } catch (const std::exception&) {
    return false;
  }
  const png::Structure s = png::inspect(scratch, /*check_crcs=*/true);
  return s.header && s.complete && s.bad_crc_chunk.empty() && s.idat_bytes > 0 && s.software == stamp;
}

void read_stage(Job& job, const StageContext& context) {
  job.file_bytes = context.pool.acquire();
  if (context.config.skip_existing &&
      is_finished_output(job.output, job.input, context.config.stamp, job.file_bytes)) {
    job.outcome = Outcome::skipped;
    return;
  }
  read_file(job.input, job.file_bytes);
  job.input_bytes = job.file_bytes.size();
}

void decode_stage(Job& job, const StageContext& context) {
  job.image.pixels = context.pool.acquire();
  decode_image(job.file_bytes, context.config.decode, job.image);
  context.pool.release(job.file_bytes);
  if (context.config.strip_metadata) job.image.metadata.clear();
  job.width = job.image.width;
  job.height = job.image.height;
  job.channels = job.image.channels;
  job.bit_depth = job.image.bit_depth;
  job.decoded_bytes = job.image.byte_size();
}

void adjust_stage(Job& job, const StageContext& context) {
  Image& image = job.image;
  if (image.bit_depth == 16) {
    apply_table(image.view<const std::uint16_t>(), image.view<std::uint16_t>(),
                context.tables.lut16.data());
  } else {
    apply_table(image.view<const std::uint8_t>(), image.view<std::uint8_t>(),
                context.tables.lut8.data());
  }
}

void encode_stage(Job& job, const StageContext& context) {
  job.encoded = context.pool.acquire();
  if (!context.config.stamp.empty()) {
    AncillaryChunk& text = job.image.metadata.emplace_back();
    text.type = {'t', 'E', 'X', 't'};
    text.data.assign(png::kSoftwareKeyword.begin(), png::kSoftwareKeyword.end());
    text.data.push_back(0);
    text.data.insert(text.data.end(), context.config.stamp.begin(), context.config.stamp.end());
  }
  encode_png_fast(job.image, job.encoded, context.config.encode);
  context.pool.release(job.image.pixels);
  job.output_bytes = job.encoded.size();
}

void write_stage(Job& job, const StageContext& context) {
  write_file_atomically(job.output, job.encoded, context.config.sync);
}

bool makes_output_unusable(const std::error_code& error) {
  // A full disk or quota, or a read-only filesystem, fails every image the same way.
  return error.category() == std::generic_category() &&
         (error.value() == ENOSPC || error.value() == EDQUOT || error.value() == EROFS);
}

void recycle_buffers(Job& job, const StageContext& context) {
  context.pool.release(job.file_bytes);
  context.pool.release(job.image.pixels);
  context.pool.release(job.encoded);
  free_buffer(job.image.metadata);
}

}  // namespace imgflow
