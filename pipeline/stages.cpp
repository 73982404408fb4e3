#include "pipeline/stages.hpp"

#include <filesystem>

#include "kernels/apply_table.hpp"
#include "pipeline/decode.hpp"
#include "pipeline/file_io.hpp"

namespace imgflow {

void read_stage(Job& job, const StageContext& context) {
  if (context.config.skip_existing) {
    std::error_code ec;
    if (std::filesystem::exists(job.output, ec)) {
      job.outcome = Outcome::skipped;
      return;
    }
  }
  job.file_bytes = context.pool.acquire();
  read_file(job.input, job.file_bytes);
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
  encode_png_fast(job.image, job.encoded, context.config.encode);
  context.pool.release(job.image.pixels);
  job.output_bytes = job.encoded.size();
}

void write_stage(Job& job, const StageContext&) { write_file_atomically(job.output, job.encoded); }

void recycle_buffers(Job& job, const StageContext& context) {
  context.pool.release(job.file_bytes);
  context.pool.release(job.image.pixels);
  context.pool.release(job.encoded);
  free_buffer(job.image.metadata);
}

}  // namespace imgflow
