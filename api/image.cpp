// The single-image level of the library: decode, apply, encode. Pages go through the same
// stage functions as the command's graph (pipeline/stages.hpp), one after another on the calling
// thread, so that a page comes out of apply() exactly as it comes out of the command.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <iterator>

#include "api/run_spec.hpp"
#include "codec/decode.hpp"
#include "codec/metadata.hpp"
#include "files/file_io.hpp"
#include "kernels/apply_table.hpp"
#include "kernels/bilevel.hpp"
#include "kernels/document.hpp"
#include "pipeline/stages.hpp"

namespace imgflow {
namespace {

std::size_t sample_bytes(int bit_depth) { return bit_depth == 16 ? 2 : 1; }

// A view's layout, checked (Error, stage "apply", naming what is wrong).
void check_view(const PixelView& view) {
  const auto refuse = [](const std::string& why) { throw Error("apply", "", why); };
  if (!view.data) refuse("no pixels (a null pointer)");
  if (view.width <= 0 || view.height <= 0) refuse(fmt::format("an empty image ({} x {})", view.width, view.height));
  if (view.channels < 1 || view.channels > 4)
    refuse(fmt::format("{} channels: expected 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA)", view.channels));
  if (view.bit_depth != 8 && view.bit_depth != 16)
    refuse(fmt::format("{}-bit samples: expected 8 or 16", view.bit_depth));
  const auto packed = static_cast<std::ptrdiff_t>(static_cast<std::size_t>(view.width) * view.channels * sample_bytes(view.bit_depth));
  if (view.row_bytes < packed)
    refuse(fmt::format("rows {} bytes apart, shorter than a row's {} bytes", view.row_bytes, packed));
}

// An image whose pixels are as many bytes as its size says (its layout is checked with its view).
void check_pixel_count(const ImageData& image, const char* stage) {
  if (image.width < 0 || image.height < 0 || image.channels < 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * image.channels *
                                 sample_bytes(image.bit_depth))
    throw Error(stage, "", fmt::format("{} bytes of pixels for a {} x {} image of {} channels", image.pixels.size(),
                                       image.width, image.height, image.channels));
}

// Whether every sample of a one-channel 8-bit view is 0 or 255: a bilevel page widened.
bool only_black_and_white(const PixelView& view) {
  const auto* data = static_cast<const std::uint8_t*>(view.data);
  for (int y = 0; y < view.height; ++y) {
    const std::uint8_t* row = data + view.row_bytes * y;
    if (!std::all_of(row, row + view.width, [](std::uint8_t v) { return v == 0 || v == 255; })) return false;
  }
  return true;
}

// A copy of the view's pixels as the pipeline's page, packed to 1 bit when it is a bilevel
// page of 0 and 255 only (as the decoder gives a 1-bit page).
Image to_image(const PixelView& view, bool bilevel) {
  check_view(view);
  const bool pack = bilevel && view.channels == 1 && view.bit_depth == 8 && only_black_and_white(view);
  Image image;
  image.width = view.width;
  image.height = view.height;
  image.channels = view.channels;
  image.bit_depth = pack ? 1 : view.bit_depth;
  image.allocate();
  const auto* data = static_cast<const std::uint8_t*>(view.data);
  if (pack) {
    static const std::array<std::uint8_t, 256> white = [] {
      std::array<std::uint8_t, 256> table{};
      table[255] = 1;
      return table;
    }();
    pack_bilevel({data, view.width, view.height, 1, static_cast<std::ptrdiff_t>(view.row_bytes)}, white.data(),
                 image.pixels.data());
    return image;
  }
  const std::size_t row = image.row_bytes();
  for (int y = 0; y < view.height; ++y) std::memcpy(image.pixels.data() + row * y, data + view.row_bytes * y, row);
  return image;
}

// The page as the library's caller gets it: 1-bit pages widened to 0 and 255.
ImageData to_data(const Image& image) {
  ImageData data;
  data.width = image.width;
  data.height = image.height;
  data.channels = image.channels;
  data.bit_depth = image.bit_depth == 16 ? 16 : 8;
  data.bilevel = image.bit_depth == 1;
  if (data.bilevel) {
    data.pixels.resize(static_cast<std::size_t>(image.width) * image.height);
    unpack_bilevel(image.pixels.data(), image.width, image.height, data.pixels.data());
  } else {
    data.pixels.assign(image.pixels.begin(), image.pixels.end());
  }
  if (const auto dpi = whole_resolution_dpi(image)) std::tie(data.dpi_x, data.dpi_y) = *dpi;
  data.icc = icc_profile(image);
  data.srgb = has_srgb(image);
  return data;
}

// The caller's resolution and profile on the pipeline's page (for dpi steps and encoders).
void carry_metadata(const ImageData& data, Image& image) {
  DecodeNotes notes;
  if (data.dpi_x > 0 && data.dpi_y > 0) add_resolution(image, data.dpi_x, data.dpi_y, ResolutionUnit::inch, notes);
  if (!data.icc.empty()) add_icc_profile(image, data.icc, notes);
  if (data.srgb && data.icc.empty()) add_srgb(image);
}

// Runs the recipe's steps on the page, as the graph routes it (analyse, adjust, neighbourhood).
void run_steps(Job& job, const Recipe& recipe) {
  const PipelineConfig config;
  BufferPools pools{BufferPool(0), BufferPool(0), BufferPool(0)};
  ScratchPool scratch;
  const StageContext context{config, recipe, pools, scratch};
  job.width = job.image.width;
  job.height = job.image.height;
  job.channels = job.image.channels;
  job.bit_depth = job.image.bit_depth;
  try {
    for (Stage stage; (stage = next_stage(job, recipe)) != Stage::encode;) {
      if (stage == Stage::analyse) analyse_stage(job, context);
      else if (stage == Stage::adjust) adjust_stage(job, context);
      else neighbourhood_stage(job, context);
    }
  } catch (...) {
    rethrow_as_error("apply");
  }
  if (job.outcome == Outcome::failed) throw Error("apply", "", job.error);
}

ImageData apply_to(Image image, const ImageData* source, std::span<const Step> steps) {
  const Recipe recipe = recipe_of(steps);
  Job job;
  job.image = std::move(image);
  if (source) carry_metadata(*source, job.image);
  run_steps(job, recipe);
  ImageData out = to_data(job.image);
  if (source) {
    if (out.dpi_x == 0 && source->dpi_x > 0) std::tie(out.dpi_x, out.dpi_y) = std::pair(source->dpi_x, source->dpi_y);
    out.format = source->format;
    out.page = source->page;
    out.pages = source->pages;
  }
  return out;
}

}  // namespace

ImageData decode(std::span<const std::uint8_t> bytes, const DecodeSettings& settings) {
  const DecodeOptions options{settings.max_pixels, settings.verify_checksums, settings.strict};
  try {
    const Format* format = format_of(bytes);
    if (!format) throw DecodeError("not an image imgflow reads (unknown format)");
    if (!format->decode) throw DecodeError(fmt::format("{}: {}", format->name, format->advice));
    std::vector<std::uint64_t> pages{0};
    std::string damage;  // the page chain broken after the pages listed
    if (format->list_pages) {
      PageList list = list_pages(bytes, options);
      if (!list.pages.empty()) pages = std::move(list.pages);
      damage = std::move(list.damage);
    }
    if (settings.page < 1 || static_cast<std::size_t>(settings.page) > pages.size())
      throw DecodeError(fmt::format("no page {}: the file has {} page{}", settings.page, pages.size(),
                                    pages.size() == 1 ? "" : "s"));
    Image image;
    DecodeNotes notes;
    decode_image(bytes, options, pages.size() > 1 ? pages[settings.page - 1] : pages[0], image, notes);
    ImageData data = to_data(image);
    data.format = std::string(format->name);
    data.page = settings.page;
    data.pages = static_cast<int>(pages.size());
    data.warnings = notes.warnings;
    if (!damage.empty())
      data.warnings.push_back(fmt::format("only {} page{} readable: {}", pages.size(), pages.size() == 1 ? "" : "s", damage));
    for (const std::string& dropped : notes.dropped) data.warnings.push_back("dropped: " + dropped);
    if (!notes.profile_dropped.empty()) data.warnings.push_back("colour profile dropped: " + notes.profile_dropped);
    if (notes.frames > 1) data.warnings.push_back(fmt::format("animated, {} frames: only the first was decoded", notes.frames));
    return data;
  } catch (...) {
    rethrow_as_error("decode");
  }
}

ImageData decode_file(const std::filesystem::path& file, const DecodeSettings& settings) {
  Bytes bytes;
  try {
    read_file(file, bytes);
  } catch (...) {
    rethrow_as_error("read", file.string());
  }
  try {
    return decode(bytes, settings);
  } catch (const Error& e) {
    throw Error(e.stage(), file.string(), e.reason());
  }
}

ImageData apply(const ImageData& image, std::span<const Step> steps) {
  check_pixel_count(image, "apply");
  return apply_to(to_image(image.view(), image.bilevel), &image, steps);
}

ImageData apply(const PixelView& pixels, std::span<const Step> steps) {
  return apply_to(to_image(pixels, false), nullptr, steps);
}

void apply_in_place(const MutablePixelView& pixels, std::span<const Step> steps) {
  check_view(pixels);
  const Recipe recipe = recipe_of(steps);
  const std::size_t sample = sample_bytes(pixels.bit_depth);
  // Point adjustments only (one composed table), rows whole samples apart: the table on the
  // caller's memory.
  if (recipe.operations.size() == 1 && recipe.operations[0].kind == Operation::Kind::adjust &&
      pixels.row_bytes % static_cast<std::ptrdiff_t>(sample) == 0) {
    const LookupTables& tables = *recipe.operations[0].tables;
    const std::ptrdiff_t stride = pixels.row_bytes / static_cast<std::ptrdiff_t>(sample);
    if (pixels.bit_depth == 8) {
      const ImageView<std::uint8_t> view{static_cast<std::uint8_t*>(pixels.data), pixels.width, pixels.height,
                                         pixels.channels, stride};
      apply_table(ImageView<const std::uint8_t>{view.data, view.width, view.height, view.channels, view.stride}, view,
                  tables.lut8().data());
    } else {
      const ImageView<std::uint16_t> view{static_cast<std::uint16_t*>(pixels.data), pixels.width, pixels.height,
                                          pixels.channels, stride};
      apply_table(ImageView<const std::uint16_t>{view.data, view.width, view.height, view.channels, view.stride},
                  view, tables.lut16().data());
    }
    return;
  }
  const ImageData out = imgflow::apply(static_cast<PixelView>(pixels), steps);
  if (out.width != pixels.width || out.height != pixels.height || out.channels != pixels.channels ||
      out.bit_depth != pixels.bit_depth)
    throw Error("apply", "",
                fmt::format("the result ({} x {}, {}, {}-bit) does not fit the image given ({} x {}, {}, {}-bit): apply "
                            "it into a new image",
                            out.width, out.height, layout_name(out.channels), out.bit_depth, pixels.width,
                            pixels.height, layout_name(pixels.channels), pixels.bit_depth));
  const std::size_t row = static_cast<std::size_t>(out.width) * out.channels * sample;
  for (int y = 0; y < out.height; ++y)
    std::memcpy(static_cast<std::uint8_t*>(pixels.data) + pixels.row_bytes * y, out.pixels.data() + row * y, row);
}

std::vector<std::uint8_t> encode(const ImageData& image, std::string_view format, const EncodeOptions& options,
                                 std::vector<std::string>* fitted) {
  Settings settings;  // resolved as a run's, so the same checks and messages hold
  settings.inputs = {"-"};
  settings.output_dir = "-";
  settings.format = std::string(format);
  settings.quality = options.quality;
  settings.lossless = options.lossless;
  settings.compression = options.compression;
  settings.png_level = options.png_level;
  settings.strip = options.strip;
  const RunSpec spec = resolve(settings);
  check_pixel_count(image, "encode");
  Job job;
  try {
    job.image = to_image(image.view(), image.bilevel);
    carry_metadata(image, job.image);
  } catch (const Error& e) {
    throw Error("encode", "", e.reason());
  }
  const Recipe recipe;
  BufferPools pools{BufferPool(0), BufferPool(0), BufferPool(0)};
  ScratchPool scratch;
  const StageContext context{spec.pipeline, recipe, pools, scratch};
  try {
    encode_stage(job, context);
  } catch (...) {
    rethrow_as_error("encode");
  }
  if (fitted) *fitted = job.findings.fitted;
  return {job.encoded.begin(), job.encoded.end()};
}

}  // namespace imgflow
