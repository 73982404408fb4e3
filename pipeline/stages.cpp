#include "pipeline/stages.hpp"

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "codec/decode.hpp"
#include "codec/png_format.hpp"
#include "files/file_io.hpp"
#include "files/resume.hpp"
#include "kernels/colour.hpp"
#include "kernels/document.hpp"
#include "pipeline/metrics.hpp"
#include "pipeline/tsan.hpp"

namespace imgflow {

namespace {

// The bands' body as parallel_for's index form runs it: it holds this object by reference, so
// `this` is the very object released before the spawn, and acquiring it comes before reading
// any member.
// Bands run on other threads count their CPU time for the caller's stage.
struct IsolatedBands {
  const BandRunner::Body& body;
  std::vector<char>& done;
  std::thread::id caller;
  std::atomic<std::int64_t>& cpu_elsewhere_ns;
  void operator()(std::size_t band) const {
    tsan::acquire(this);
    const bool elsewhere = std::this_thread::get_id() != caller;
    const auto cpu_start = elsewhere ? thread_cpu_time() : std::chrono::nanoseconds{};
    body(band, static_cast<std::size_t>(oneapi::tbb::this_task_arena::current_thread_index()));
    if (elsewhere) cpu_elsewhere_ns += (thread_cpu_time() - cpu_start).count();
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
  std::atomic<std::int64_t> cpu_elsewhere_ns{0};
  const IsolatedBands bands{body, done, std::this_thread::get_id(), cpu_elsewhere_ns};
  tsan::release(&bands);
  oneapi::tbb::this_task_arena::isolate([&] { oneapi::tbb::parallel_for(std::size_t{0}, count, bands); });
  for (const char& token : done) tsan::acquire(&token);
  credit_cpu_elsewhere(std::chrono::nanoseconds{cpu_elsewhere_ns.load()});
}

BandRunner isolated_band_runner() {
  return {static_cast<std::size_t>(oneapi::tbb::this_task_arena::max_concurrency()), run_bands_isolated};
}

void read_stage(Job& job, const StageContext& context) {
  job.file_bytes = context.pool.files.acquire();
  timespec modified{};
  try {
    read_file(job.input, job.file_bytes, &modified);
  } catch (const std::system_error& e) {
    if (!context.config.missing_input_skipped || e.code() != std::errc::no_such_file_or_directory) throw;
    job.outcome = Outcome::skipped;
    job.skip_reason = kRemovedBeforeRead;
    job.move_to.clear();
    return;
  }
  job.input_bytes = job.file_bytes.size();
  job.source = source_record(job.file_bytes, modified);
}

// Under skip_existing: a finished output is skipped; a file imgflow did not write is left alone
// unless overwrite_foreign.
static void judge_existing_output(Job& job, const StageContext& context) {
  // A document's output is judged before the run, as a whole (app/main.cpp).
  if (!context.config.skip_existing || context.config.documents) return;
  Bytes scratch = context.pool.files.acquire();
  const OutputState state = check_output(job.output, context.config.stamp, job.source, scratch);
  context.pool.files.release(scratch);
  if (state == OutputState::finished) {
    job.outcome = Outcome::skipped;
  } else if (state == OutputState::foreign && !context.config.overwrite_foreign) {
    job.outcome = Outcome::skipped;
    job.foreign_output = true;
    job.skip_reason = "its output " + job.output.string() + " was not written by imgflow: left alone";
  }
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
    if (job.outcome == Outcome::pending) judge_existing_output(job, context);
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
    p.source = job.source;
    p.document = job.document;
    p.document_file = job.document_file;
    if (job.pages.size() == 1) {  // the file's reading is counted once, with its first page
      p.spans[static_cast<std::size_t>(Stage::read)] = job.spans[static_cast<std::size_t>(Stage::read)];
      p.input_bytes = job.input_bytes;
    }
    if (p.output != job.output && !context.config.documents && context.config.output_taken &&
        context.config.output_taken(p.output)) {
      p.fail(Stage::write, "its output " + p.output.string() + " is also the output of another input");
    } else {
      judge_existing_output(p, context);
    }
  }
  if (!damage.empty()) {
    Job& p = job.pages.emplace_back();
    p.index = job.index;
    p.input = job.input;
    p.page = count + 1;  // "after page N"
    p.page_count = count;
    p.file_job = &job;
    p.document = job.document;
    p.document_file = job.document_file;
    p.fed_at = job.fed_at;
    p.fail(Stage::decode, damage);
  }
  job.pages_left = job.pages.size();
  for (Job& p : job.pages) out.push_back(&p);
}

void decode_stage(Job& job, const StageContext& context) {
  job.image.pixels = context.pool.pixels.acquire();
  const Bytes& file = job.shared_file ? *job.shared_file : job.file_bytes;
  DecodeNotes notes;
  try {
    const ScratchPool::Lease scratch = context.scratch.lease();
    decode_image(file, context.config.decode, job.page_ref, job.image, notes, *scratch);
  } catch (const PixelLimitError&) {
    job.over_pixel_limit = true;
    throw;
  }
  context.pool.files.release(job.file_bytes);
  job.shared_file.reset();
  job.warnings = std::move(notes.warnings);
  job.dropped = std::move(notes.dropped);
  job.readings = std::move(notes.readings);
  job.findings.profile_dropped = std::move(notes.profile_dropped);
  job.frames = notes.frames;
  job.width = job.image.width;
  job.height = job.image.height;
  job.channels = job.image.channels;
  job.bit_depth = job.image.bit_depth;
  job.decoded_bytes = job.image.byte_size();
}

// A page fitted to what the output format holds (docs/formats.md): a 1-bit page widened to
// 8-bit gray (nothing lost), 16-bit samples cut to their high 8 bits (as the 1-bit threshold,
// libvips and sharp cut them), alpha flattened onto white paper. What is lost is said.
static void fit_to_format(Job& job, const StageContext& context) {
  const Format& format = *context.config.output_format;
  Image& image = job.image;
  if (image.bit_depth == 1 && !format.holds.bilevel) widen_bilevel(job, context);
  if (image.bit_depth == 16 && !format.holds.sixteen_bit) {
    high_bytes(image.view<const std::uint16_t>(), nullptr, image.pixels.data());
    image.bit_depth = 8;
    image.pixels.resize(image.byte_size());
    job.findings.fitted.push_back(fmt::format("16-bit samples written as their high 8 bits ({} holds 8)", format.name));
  }
  if ((image.channels == 2 || image.channels == 4) && !format.holds.alpha) {
    flatten_onto_white(image.pixels.data(), static_cast<std::size_t>(image.width) * image.height, image.channels);
    image.channels -= 1;
    image.pixels.resize(image.byte_size());
    job.findings.fitted.push_back(fmt::format("alpha flattened onto white ({} has no alpha channel)", format.name));
  }
  job.channels = image.channels;
  job.bit_depth = image.bit_depth;
}

void encode_stage(Job& job, const StageContext& context) {
  // Stripped here, not at decoding: the operations may need the page's resolution (--dpi).
  if (context.config.strip_metadata) job.image.metadata.clear();
  fit_to_format(job, context);
  job.encoded = context.pool.outputs.acquire();
  // The format's encoder, from the one format table, with the stamp it records.
  EncodeSettings settings = context.config.encode;
  settings.software = context.config.stamp;
  settings.description = job.source;
  settings.bands = isolated_band_runner();
  settings.document_page = context.config.documents != nullptr;
  const ScratchPool::Lease scratch = context.scratch.lease();
  context.config.output_format->encode(job.image, settings, job.encoded, *scratch);
  context.pool.pixels.release(job.image.pixels);
  job.output_bytes = job.encoded.size();
}

bool makes_output_unusable(const std::error_code& error) {
  // A full disk or quota, or a read-only filesystem, fails every image the same way.
  // So does the output directory gone (write_file_atomically never re-creates it: ENOENT).
  return error.category() == std::generic_category() &&
         (error.value() == ENOSPC || error.value() == EDQUOT || error.value() == EROFS || error.value() == ENOENT);
}

void release_decoded_buffers(Job& job, const StageContext& context) {
  if (!job.file_job) context.pool.files.release(job.file_bytes);
  job.shared_file.reset();
  context.pool.pixels.release(job.image.pixels);
  free_buffer(job.image.metadata);
}

void recycle_buffers(Job& job, const StageContext& context) {
  release_decoded_buffers(job, context);
  context.pool.files.release(job.file_bytes);
  context.pool.outputs.release(job.encoded);
}

}  // namespace imgflow
