// Uses the installed library: a run over a folder, then the single-image level on one of its
// inputs, whose result must equal the run's output pixel for pixel; errors as exceptions.
// Usage: consumer INPUT_DIR OUTPUT_DIR IMAGE (IMAGE inside INPUT_DIR; its output is IMAGE's stem + .png)
#include <imgflow/imgflow.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const std::filesystem::path input_dir = argv[1], output_dir = argv[2], image = argv[3];
  const std::vector<imgflow::Step> steps{imgflow::step("brightness", 0.25), imgflow::step("contrast", 0.25)};

  imgflow::Settings settings;
  settings.inputs = {input_dir};
  settings.output_dir = output_dir;
  settings.operations = steps;
  std::size_t progress_calls = 0;
  imgflow::Callbacks callbacks;
  callbacks.progress = [&](const imgflow::Progress&) { ++progress_calls; };
  const imgflow::RunResult result = imgflow::run(settings, callbacks);
  std::printf("run: exit %d, %zu written, %zu failed, %zu progress calls, report %zu bytes\n", result.exit_code,
              result.written, result.failed, progress_calls, result.report.size());
  if (result.exit_code != 0 || result.written == 0 || progress_calls == 0) return 1;

  const imgflow::ImageData page = imgflow::decode_file(image);
  const imgflow::ImageData adjusted = imgflow::apply(page, steps);
  const imgflow::ImageData written = imgflow::decode_file(output_dir / image.filename().replace_extension(".png"));
  if (adjusted.pixels != written.pixels) {
    std::printf("apply() differs from the run's output\n");
    return 1;
  }
  const std::vector<std::uint8_t> png = imgflow::encode(adjusted, "png");
  if (imgflow::decode(png).pixels != adjusted.pixels) return 1;
  try {
    const std::vector<std::uint8_t> junk{1, 2, 3};
    imgflow::decode(junk);
    return 1;
  } catch (const imgflow::Error& e) {
    std::printf("refused as expected: %s (stage %s)\n", e.what(), e.stage().c_str());
    if (e.stage() != "decode") return 1;
  }
  std::printf("consumer: PASSED (imgflow %s, %d x %d, %d channels)\n", imgflow::version().c_str(), page.width,
              page.height, page.channels);
  return 0;
}
