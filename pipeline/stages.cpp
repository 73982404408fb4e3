#include "pipeline/stages.hpp"

#include <filesystem>

#include "kernels/apply_table.hpp"
#include "pipeline/decode.hpp"
#include "pipeline/file_io.hpp"
#include "pipeline/png_codec.hpp"

namespace imgflow {

void read_stage(Job& job, const PipelineConfig& config) {
  if (config.skip_existing) {
    std::error_code ec;
    if (std::filesystem::exists(job.output, ec)) {
      job.outcome = Outcome::skipped;
      return;
    }
  }
  job.file_bytes = read_file(job.input);
}

void decode_stage(Job& job, const PipelineConfig& config) {
  job.image = decode_image(job.file_bytes, config.max_pixels);
  free_buffer(job.file_bytes);
  if (config.strip_metadata) job.image.metadata.clear();
  job.width = job.image.width;
  job.height = job.image.height;
  job.channels = job.image.channels;
  job.bit_depth = job.image.bit_depth;
  job.decoded_bytes = job.image.byte_size();
}

void adjust_stage(Job& job, const LookupTables& tables) {
  Image& image = job.image;
  if (image.bit_depth == 16) {
    apply_table(image.view<const std::uint16_t>(), image.view<std::uint16_t>(), tables.lut16.data());
  } else {
    apply_table(image.view<const std::uint8_t>(), image.view<std::uint8_t>(), tables.lut8.data());
  }
}

void encode_stage(Job& job, const PipelineConfig& config) {
  encode_png(job.image, job.encoded, config.png);
  free_buffer(job.image.pixels);
  job.output_bytes = job.encoded.size();
}

void write_stage(Job& job) { write_file_atomically(job.output, job.encoded); }

}  // namespace imgflow
