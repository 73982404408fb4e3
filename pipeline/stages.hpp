#pragma once
#include <filesystem>
#include <functional>
#include <set>
#include <vector>
#include <string_view>
#include <system_error>

#include "kernels/lookup_table.hpp"
#include "pipeline/recipe.hpp"
#include "pipeline/buffer_pool.hpp"
#include "pipeline/config.hpp"
#include "codec/png_fast_encode.hpp"
#include "pipeline/job.hpp"

namespace imgflow {

/// What every stage may use: settings, tables, and the pool that recycles buffers between
/// images so the steady state allocates nothing.
struct StageContext {
  const PipelineConfig& config;
  const Recipe& recipe;
  BufferPools& pool;
  ScratchPool& scratch;  ///< the codecs' working memory
};

/// The encoder's BandRunner for the calling task arena: one image's deflate bands on its TBB
/// workers, each named by its thread index, isolated so that a thread waiting for them runs
/// nothing but them.
BandRunner isolated_band_runner();

/// The work of each graph node on one job. Each may throw std::exception; the graph turns that
/// into the job's failure at that stage.

/// Whether a write failure with this error would fail every other image too (disk full,
/// quota exceeded, read-only filesystem, the output directory gone), so the run should stop.
bool makes_output_unusable(const std::error_code& error);

/// The skip reason of an input removed before it was read (PipelineConfig::missing_input_skipped).
inline constexpr std::string_view kRemovedBeforeRead = "removed before it was read";

/// Reads the file, and records what it is (files/resume.hpp: source_record).
void read_stage(Job& job, const StageContext& context);
/// After reading: the file's pages (job.page_refs), for formats that have pages. A file that is
/// not a readable image is left to decode_stage, which says why.
void list_pages_stage(Job& job, const StageContext& context);
/// Sends on `job` itself, or for a file of several pages one job per selected page (named by
/// page_output_path; each checked for collisions), plus a failed one when the page chain
/// is damaged. Under skip_existing every job sent on is skipped when its output is finished, or
/// is a file imgflow did not write (unless overwrite_foreign). `out` receives the jobs.
void split_pages(Job& job, const StageContext& context, std::vector<Job*>& out);
/// The output of page `page` of a file of several pages: "scan.png" -> "scan-p0003.png".
std::filesystem::path page_output_path(const std::filesystem::path& output, int page);
void decode_stage(Job& job, const StageContext& context);
/// Where a decoded page goes next (operations.cpp): the stage of its next operation - analyse
/// first when that needs the page's histogram or skew - or encode when none is left (or the
/// page failed).
Stage next_stage(const Job& job, const Recipe& recipe);
/// The page's histogram for the point operations to come, or its skew for --deskew (a skew
/// that is unreliable or negligible ends the deskew operation here, with a note).
void analyse_stage(Job& job, const StageContext& context);
/// The run of point operations at job.next_operation: composed tables applied once in place
/// (alpha left alone), and gray or bilevel made where the run asks. A bilevel page stays
/// bilevel under a table that maps black and white to black or white; else it is widened.
void adjust_stage(Job& job, const StageContext& context);
/// Sauvola's threshold, turning a skewed page back, or resampling to a resolution.
void neighbourhood_stage(Job& job, const StageContext& context);
void encode_stage(Job& job, const StageContext& context);
/// A bilevel page widened to 8-bit gray (0 and 255), in a buffer from the pool.
void widen_bilevel(Job& job, const StageContext& context);
/// (Writing: pipeline/output_writer.hpp.)
/// After encoding: returns the pixels and, for a one-page file, the file's bytes to the pool;
/// a page lets go of its file's bytes (freed with the last page).
void release_decoded_buffers(Job& job, const StageContext& context);
/// Returns the job's buffers to the pool.
void recycle_buffers(Job& job, const StageContext& context);

}  // namespace imgflow
