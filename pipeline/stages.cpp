#include "pipeline/stages.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <functional>
#include <vector>

#include "kernels/apply_table.hpp"
#include "kernels/bilevel.hpp"
#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "codec/decode.hpp"
#include "pipeline/file_io.hpp"
#include "pipeline/tsan.hpp"
#include "codec/png_format.hpp"

namespace imgflow {

namespace {

bool is_newer(const struct stat& a, const struct stat& b) {
  return a.st_mtim.tv_sec != b.st_mtim.tv_sec ? a.st_mtim.tv_sec > b.st_mtim.tv_sec
                                              : a.st_mtim.tv_nsec > b.st_mtim.tv_nsec;
}

}  // namespace

namespace {

// The bands' body as parallel_for's index form runs it: it holds this object by reference, so
// `this` is the very object released before the spawn, and acquiring it comes before reading
// any member.
struct IsolatedBands {
  const BandRunner::Body& body;
  std::vector<char>& done;
  void operator()(std::size_t band) const {
    tsan::acquire(this);
    body(band, static_cast<std::size_t>(oneapi::tbb::this_task_arena::current_thread_index()));
    tsan::release(&done[band]);
  }
};

}  // namespace

// Isolated: while this thread waits for the other bands it runs only bands of this image, not
// another image's encode from the flow graph (which would hold this thread up for a whole
// image; when the codec kept per-thread buffers it also corrupted outputs now and then).
// For TSan (libtbb.so is uninstrumented) the hand-offs are stated: all before the spawn happens
// before each band, each band before the join (a token per band keeps bands unordered).
static void run_bands_isolated(std::size_t count, const BandRunner::Body& body) {
  std::vector<char> done(count);
  const IsolatedBands bands{body, done};
  tsan::release(&bands);
  oneapi::tbb::this_task_arena::isolate([&] { oneapi::tbb::parallel_for(std::size_t{0}, count, bands); });
  for (const char& token : done) tsan::acquire(&token);
}

BandRunner isolated_band_runner() {
  return {static_cast<std::size_t>(oneapi::tbb::this_task_arena::max_concurrency()), run_bands_isolated};
}

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

void list_pages_stage(Job& job, const StageContext& context) {
  const Format* format = format_of(job.file_bytes);
  if (!format || !format->list_pages) return;  // one page: decoding says what is wrong, if anything
  try {
    PageList list = list_pages(job.file_bytes, context.config.decode);
    job.page_refs = std::move(list.pages);
    job.page_count = static_cast<int>(job.page_refs.size());
    job.page_chain_damage = std::move(list.damage);
  } catch (const DecodeError& e) {
    job.fail(Stage::decode, e.what());
  }
}

std::filesystem::path page_output_path(const std::filesystem::path& output, int page) {
  std::filesystem::path out = output;
  out.replace_filename(output.stem().string() + fmt::format("-p{:04d}", page) + output.extension().string());
  return out;
}

void split_pages(Job& job, const StageContext& context, std::vector<Job*>& out) {
  out.clear();
  const PageSelection& selection = context.config.pages;
  const int count = job.page_count;
  const auto wanted = [&](int page) {
    if (!job.only_pages.empty()) return std::find(job.only_pages.begin(), job.only_pages.end(), page) != job.only_pages.end();
    return selection.takes(page);
  };
  if (job.outcome != Outcome::pending || (job.page_refs.size() <= 1 && job.page_chain_damage.empty())) {
    if (job.outcome == Outcome::pending && !wanted(1)) {
      job.outcome = Outcome::skipped;
      job.skip_reason = "none of the selected pages (the file has 1 page)";
    }
    if (job.page_refs.size() == 1) job.page_ref = job.page_refs[0];
    out.push_back(&job);
    return;
  }
  const std::string& damage = job.page_chain_damage;
  std::vector<int> selected;
  for (int page = 1; page <= count; ++page)
    if (wanted(page)) selected.push_back(page);
  if (selected.empty() && damage.empty()) {
    job.outcome = Outcome::skipped;
    job.skip_reason = fmt::format("none of the selected pages (the file has {} pages)", count);
    out.push_back(&job);
    return;
  }
  job.outcome = Outcome::paged;
  job.shared_file = std::make_shared<const Bytes>(std::move(job.file_bytes));
  job.pages.reserve(selected.size() + (damage.empty() ? 0 : 1));
  for (const int page : selected) {
    Job& p = job.pages.emplace_back();
    p.index = job.index;
    p.input = job.input;
    p.output = count > 1 ? page_output_path(job.output, page) : job.output;  // one page: its plain name
    p.page = count > 1 ? page : 0;
    p.page_count = count;
    p.page_ref = job.page_refs[static_cast<std::size_t>(page - 1)];
    p.file_job = &job;
    p.shared_file = job.shared_file;
    p.fed_at = job.fed_at;
    if (job.pages.size() == 1) {  // the file's reading is counted once, with its first page
      p.spans[static_cast<std::size_t>(Stage::read)] = job.spans[static_cast<std::size_t>(Stage::read)];
      p.input_bytes = job.input_bytes;
    }
    if (p.output != job.output && context.config.taken_outputs && context.config.taken_outputs->count(p.output)) {
      p.fail(Stage::write, "its output " + p.output.string() + " is also the output of another input");
    } else if (context.config.skip_existing) {
      Bytes scratch = context.pool.acquire();
      if (is_finished_output(p.output, p.input, context.config.stamp, scratch)) p.outcome = Outcome::skipped;
      context.pool.release(scratch);
    }
  }
  if (!damage.empty()) {
    Job& p = job.pages.emplace_back();
    p.index = job.index;
    p.input = job.input;
    p.page = count + 1;  // "after page N"
    p.page_count = count;
    p.file_job = &job;
    p.fed_at = job.fed_at;
    p.fail(Stage::decode, damage);
  }
  job.pages_left = job.pages.size();
  for (Job& p : job.pages) out.push_back(&p);
}

void decode_stage(Job& job, const StageContext& context) {
  job.image.pixels = context.pool.acquire();
  const Bytes& file = job.shared_file ? *job.shared_file : job.file_bytes;
  DecodeNotes notes;
  try {
    const ScratchPool::Lease scratch = context.scratch.lease();
    decode_image(file, context.config.decode, job.page_ref, job.image, notes, *scratch);
  } catch (const PixelLimitError&) {
    job.over_pixel_limit = true;
    throw;
  }
  context.pool.release(job.file_bytes);
  job.shared_file.reset();
  job.warnings = std::move(notes.warnings);
  job.dropped = std::move(notes.dropped);
  job.frames = notes.frames;
  if (context.config.strip_metadata) job.image.metadata.clear();
  job.width = job.image.width;
  job.height = job.image.height;
  job.channels = job.image.channels;
  job.bit_depth = job.image.bit_depth;
  job.decoded_bytes = job.image.byte_size();
}

void adjust_stage(Job& job, const StageContext& context) {
  Image& image = job.image;
  if (image.bit_depth == 1) {
    // A bilevel page stays bilevel when the table keeps black and white black or white.
    const BilevelMapping mapping = bilevel_mapping(context.tables.lut8.data());
    if (mapping != BilevelMapping::widen) {
      map_bilevel(image.pixels.data(), image.pixels.size(), mapping);
      return;
    }
    Bytes wide = context.pool.acquire();
    wide.resize(static_cast<std::size_t>(image.width) * image.height);
    unpack_bilevel(image.pixels.data(), image.width, image.height, wide.data());
    context.pool.release(image.pixels);
    image.pixels = std::move(wide);
    image.bit_depth = 8;
    job.bit_depth = 8;
  }
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
  const ScratchPool::Lease scratch = context.scratch.lease();
  encode_png_fast(job.image, job.encoded, context.config.encode, isolated_band_runner(), *scratch);
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
  job.shared_file.reset();
  context.pool.release(job.image.pixels);
  context.pool.release(job.encoded);
  free_buffer(job.image.metadata);
}

}  // namespace imgflow
