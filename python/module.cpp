// The Python module imgflow (python/imgflow/__init__.py re-exports this extension): a thin
// client of the C++ library (include/imgflow/imgflow.hpp). run()'s keywords and docstring come
// from the library's declarations, the ones the command's --help prints.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <chrono>
#include <csignal>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "imgflow/imgflow.hpp"

namespace py = pybind11;

namespace {

PyObject* error_type = nullptr;  // imgflow.Error, made at import

// imgflow.Error(message) with .stage, .file and .reason.
[[noreturn]] void raise(const imgflow::Error& e) {
  py::object error = py::reinterpret_borrow<py::object>(error_type)(e.what());
  error.attr("stage") = e.stage();
  error.attr("file") = e.file();
  error.attr("reason") = e.reason();
  PyErr_SetObject(error_type, error.ptr());
  throw py::error_already_set();
}

std::string type_name(py::handle value) { return py::str(py::type::of(value).attr("__name__")); }

// A keyword's value as the setting's type (Declaration::type), or TypeError.
template <typename T>
T as(py::handle value, const imgflow::Declaration& declared) {
  const auto wrong = [&](const char* expected) {
    throw py::type_error(std::string("imgflow.run: ") + std::string(declared.name) + " must be " + expected + ", not " +
                         type_name(value));
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!py::isinstance<py::bool_>(value)) wrong("a bool");
    return value.cast<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (py::isinstance<py::bool_>(value) || !py::isinstance<py::int_>(value)) wrong("an int");
    const long long number = value.cast<long long>();
    if (number < 0) throw py::value_error("imgflow.run: " + std::string(declared.name) + " must be 0 or more");
    return static_cast<T>(number);
  } else if constexpr (std::is_same_v<T, double>) {
    if (py::isinstance<py::bool_>(value) || !(py::isinstance<py::float_>(value) || py::isinstance<py::int_>(value)))
      wrong("a number");
    return value.cast<double>();
  } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
    if (!py::isinstance<py::str>(value) && !py::hasattr(value, "__fspath__")) wrong("a str or os.PathLike");
    return value.cast<std::filesystem::path>();
  } else {
    if (!py::isinstance<py::str>(value)) wrong("a str");
    return value.cast<std::string>();
  }
}

// Each setting's field, by the name the declarations give it.
using Setter = std::function<void(imgflow::Settings&, py::handle, const imgflow::Declaration&)>;
template <typename T>
Setter field(T imgflow::Settings::*member) {
  return [member](imgflow::Settings& settings, py::handle value, const imgflow::Declaration& declared) {
    settings.*member = as<T>(value, declared);
  };
}
const std::map<std::string, Setter, std::less<>>& setters() {
  using S = imgflow::Settings;
  static const std::map<std::string, Setter, std::less<>> table{
      {"assume_dpi", field(&S::assume_dpi)},          {"recursive", field(&S::recursive)},
      {"follow_symlinks", field(&S::follow_symlinks)}, {"skip_existing", field(&S::skip_existing)},
      {"overwrite_foreign", field(&S::overwrite_foreign)}, {"fail_fast", field(&S::fail_fast)},
      {"failures_file", field(&S::failures_file)},    {"files_from", field(&S::files_from)},
      {"null_separated", field(&S::null_separated)},  {"strip", field(&S::strip)},
      {"pages", field(&S::pages)},                    {"move_input", field(&S::move_input)},
      {"threads", field(&S::threads)},                {"max_in_flight", field(&S::max_in_flight)},
      {"max_pixels", field(&S::max_pixels)},          {"skip_checksums", field(&S::skip_checksums)},
      {"strict", field(&S::strict)},                  {"no_sync", field(&S::no_sync)},
      {"png_level", field(&S::png_level)},            {"format", field(&S::format)},
      {"join", field(&S::join)},                      {"lossless", field(&S::lossless)},
      {"compression", field(&S::compression)},        {"quality", field(&S::quality)},
      {"report_file", field(&S::report_file)},        {"trace_file", field(&S::trace_file)},
      {"shard", field(&S::shard)},                    {"dry_run", field(&S::dry_run)},
  };
  return table;
}

// ops: [("brightness", 0.25), ("grayscale",), "grayscale", ("threshold", "otsu"), ("dpi", 300)].
std::vector<imgflow::Step> steps_of(py::handle ops) {
  std::vector<imgflow::Step> steps;
  if (ops.is_none()) return steps;
  if (py::isinstance<py::str>(ops)) throw py::type_error("ops must be a list of operations, such as [(\"brightness\", 0.25)]");
  for (py::handle op : ops) {
    if (py::isinstance<py::str>(op)) {
      steps.push_back({op.cast<std::string>(), ""});
      continue;
    }
    if (!py::isinstance<py::tuple>(op) && !py::isinstance<py::list>(op))
      throw py::type_error("each operation is a name or a (name, value) tuple, not " + type_name(op));
    const py::sequence items = py::reinterpret_borrow<py::sequence>(op);
    if (items.size() < 1 || items.size() > 2 || !py::isinstance<py::str>(items[0]))
      throw py::type_error("each operation is a name or a (name, value) tuple");
    std::string name = items[0].cast<std::string>();
    if (items.size() == 1 || items[1].is_none()) {
      steps.push_back({name, ""});
    } else if (py::isinstance<py::bool_>(items[1])) {
      throw py::type_error(name + ": a value must be a number or a str, not bool");
    } else if (py::isinstance<py::float_>(items[1]) || py::isinstance<py::int_>(items[1])) {
      steps.push_back(imgflow::step(name, items[1].cast<double>()));
    } else if (py::isinstance<py::str>(items[1])) {
      steps.push_back({name, items[1].cast<std::string>()});
    } else {
      throw py::type_error(name + ": a value must be a number or a str, not " + type_name(items[1]));
    }
  }
  return steps;
}

// What the run's threads leave for the calling thread: callbacks into Python run only there,
// holding the GIL, between its waits.
struct Mailbox {
  std::mutex mutex;
  std::condition_variable wake;
  bool done = false;
  std::optional<imgflow::Progress> progress;
  std::vector<std::pair<imgflow::Level, std::string>> messages;
};

const char* level_name(imgflow::Level level) {
  switch (level) {
    case imgflow::Level::debug: return "debug";
    case imgflow::Level::info: return "info";
    case imgflow::Level::warning: return "warning";
    case imgflow::Level::error: return "error";
  }
  return "info";
}

py::dict run(py::object inputs, py::object output_dir, py::object ops, py::object progress, py::object messages,
             bool verbose, py::kwargs kwargs) {
  imgflow::Settings settings;
  if (py::isinstance<py::str>(inputs) || py::hasattr(inputs, "__fspath__"))
    settings.inputs = {inputs.cast<std::filesystem::path>()};
  else
    for (py::handle input : inputs) settings.inputs.push_back(as<std::filesystem::path>(input, imgflow::setting_declarations()[0]));
  settings.output_dir = as<std::filesystem::path>(output_dir, imgflow::setting_declarations()[1]);
  settings.operations = steps_of(ops);
  for (const auto& [key, value] : kwargs) {
    const std::string name = key.cast<std::string>();
    const auto setter = setters().find(name);
    if (setter == setters().end()) throw py::type_error("imgflow.run() got an unexpected keyword argument '" + name + "'");
    for (const imgflow::Declaration& declared : imgflow::setting_declarations())
      if (declared.name == name) setter->second(settings, value, declared);
  }
  settings.command_line = {"python3", "-c", "imgflow.run(...)"};

  Mailbox mailbox;
  imgflow::Callbacks callbacks;
  if (!progress.is_none())
    callbacks.progress = [&](const imgflow::Progress& now) {
      const std::lock_guard lock(mailbox.mutex);
      mailbox.progress = now;
    };
  if (!messages.is_none()) {
    callbacks.level = verbose ? imgflow::Level::debug : imgflow::Level::info;
    callbacks.message = [&](imgflow::Level level, const std::string& text) {
      const std::lock_guard lock(mailbox.mutex);
      mailbox.messages.emplace_back(level, text);
    };
  }
  imgflow::Stop stop;
  imgflow::RunResult result;
  std::exception_ptr failure;
  std::optional<py::error_already_set> raised;  // KeyboardInterrupt, or a callback's exception
  {
    py::gil_scoped_release released;
    std::thread worker([&] {
      try {
        result = imgflow::run(settings, callbacks, &stop);
      } catch (...) {
        failure = std::current_exception();
      }
      const std::lock_guard lock(mailbox.mutex);
      mailbox.done = true;
      mailbox.wake.notify_all();
    });
    // Wait, and every 50 ms (or when woken) pass on what the run left and let Python's signal
    // handlers run: Ctrl-C asks the run to stop as SIGINT stops the command.
    for (bool done = false; !done;) {
      std::optional<imgflow::Progress> now;
      std::vector<std::pair<imgflow::Level, std::string>> lines;
      {
        std::unique_lock lock(mailbox.mutex);
        mailbox.wake.wait_for(lock, std::chrono::milliseconds(50), [&] { return mailbox.done; });
        done = mailbox.done;
        now.swap(mailbox.progress);
        lines.swap(mailbox.messages);
      }
      py::gil_scoped_acquire held;
      try {
        for (const auto& [level, text] : lines)
          if (!raised) messages(level_name(level), text);
        if (now && !raised) progress(py::dict(py::arg("done") = now->done, py::arg("total") = now->total,
                                              py::arg("failed") = now->failed, py::arg("input_bytes") = now->input_bytes));
        if (!raised && PyErr_CheckSignals() != 0) throw py::error_already_set();
      } catch (py::error_already_set& e) {
        if (!raised) raised.emplace(std::move(e));
        stop.request(SIGINT);
      }
    }
    worker.join();
  }
  if (raised) throw std::move(*raised);
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const imgflow::Error& e) {
      raise(e);
    }
  }
  py::dict report = py::module_::import("json").attr("loads")(result.report);
  py::list failures;
  for (const imgflow::Failure& f : result.failures)
    failures.append(py::dict(py::arg("input") = f.input.string(), py::arg("page") = f.page,
                             py::arg("stage") = f.stage, py::arg("reason") = f.reason));
  report["failures"] = failures;
  return report;
}

// An array's pixels as the library sees them, or TypeError/ValueError saying what is wrong.
imgflow::MutablePixelView view_of(const py::array& array, const char* function, bool writable) {
  const std::string where = std::string("imgflow.") + function + ": ";
  const py::dtype dtype = array.dtype();
  if (dtype.kind() != 'u' || (dtype.itemsize() != 1 && dtype.itemsize() != 2))
    throw py::type_error(where + "expected a uint8 or uint16 array, got " + dtype.attr("name").cast<std::string>() +
                         (dtype.kind() == 'b' ? " (a 1-bit page is uint8 of 0 and 255: array.astype(numpy.uint8) * 255)" : ""));
  if (dtype.itemsize() == 2 && dtype.attr("byteorder").cast<std::string>() == ">")
    throw py::type_error(where + "uint16 samples in big-endian order: array.astype('=u2') first");
  if (array.ndim() != 2 && array.ndim() != 3)
    throw py::value_error(where + "expected an array of shape (height, width) or (height, width, channels), got " +
                          std::to_string(array.ndim()) + " dimensions");
  const int channels = array.ndim() == 3 ? static_cast<int>(array.shape(2)) : 1;
  if (channels < 1 || channels > 4)
    throw py::value_error(where + std::to_string(channels) + " channels: expected 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA)");
  if (array.shape(0) == 0 || array.shape(1) == 0) throw py::value_error(where + "the array is empty (0 pixels)");
  if (array.shape(0) > (1 << 30) || array.shape(1) > (1 << 30)) throw py::value_error(where + "the array is too large");
  const auto item = static_cast<py::ssize_t>(dtype.itemsize());
  const bool samples_together = (array.ndim() == 2 || array.strides(2) == item) && array.strides(1) == item * channels;
  if (!samples_together || array.strides(0) < item * channels * array.shape(1) || array.strides(0) % item != 0)
    throw py::value_error(where + "the array's samples are not contiguous within each row (a view such as a[:, ::2] or "
                          "a transposed or Fortran-ordered array): numpy.ascontiguousarray(array) first");
  if (writable && !array.writeable()) throw py::value_error(where + "the array is read-only: cannot work in place");
  return {const_cast<void*>(array.data()), static_cast<int>(array.shape(1)), static_cast<int>(array.shape(0)),
          channels, 8 * static_cast<int>(item), static_cast<std::ptrdiff_t>(array.strides(0))};
}

// An image's pixels as a new array that owns them (no copy: the vector moves into it); of shape
// (height, width, channels) when `three_d` or the image has several channels.
py::array to_array(imgflow::ImageData&& image, bool three_d = false) {
  auto* pixels = new std::vector<std::uint8_t>(std::move(image.pixels));
  py::capsule owner(pixels, [](void* p) { delete static_cast<std::vector<std::uint8_t>*>(p); });
  const auto item = static_cast<py::ssize_t>(image.bit_depth == 16 ? 2 : 1);
  std::vector<py::ssize_t> shape{image.height, image.width}, strides{image.width * image.channels * item, image.channels * item};
  if (image.channels > 1 || three_d) {
    shape.push_back(image.channels);
    strides.push_back(item);
  }
  if (image.bit_depth == 16) return py::array(py::dtype::of<std::uint16_t>(), shape, strides, pixels->data(), owner);
  return py::array(py::dtype::of<std::uint8_t>(), shape, strides, pixels->data(), owner);
}

py::dict info_of(const imgflow::ImageData& image) {
  py::dict info;
  info["width"] = image.width;
  info["height"] = image.height;
  info["channels"] = image.channels;
  info["bit_depth"] = image.bilevel ? 1 : image.bit_depth;
  info["format"] = image.format;
  info["page"] = image.page;
  info["pages"] = image.pages;
  info["dpi"] = image.dpi_x > 0 ? py::object(py::make_tuple(image.dpi_x, image.dpi_y)) : py::object(py::none());
  info["icc"] = image.icc.empty() ? py::object(py::none())
                                  : py::object(py::bytes(reinterpret_cast<const char*>(image.icc.data()), image.icc.size()));
  info["srgb"] = image.srgb;
  info["warnings"] = image.warnings;
  return info;
}

py::tuple decode(py::object source, int page, std::uint64_t max_pixels, bool verify_checksums, bool strict) {
  const imgflow::DecodeSettings settings{page, max_pixels, verify_checksums, strict};
  imgflow::ImageData image;
  try {
    if (py::isinstance<py::str>(source) || py::hasattr(source, "__fspath__")) {
      const auto path = source.cast<std::filesystem::path>();
      py::gil_scoped_release released;
      image = imgflow::decode_file(path, settings);
    } else if (PyObject_CheckBuffer(source.ptr())) {
      const py::buffer buffer = py::reinterpret_borrow<py::buffer>(source);
      const py::buffer_info bytes = buffer.request();
      if (bytes.ndim != 1 || bytes.itemsize != 1 || bytes.strides[0] != 1)
        throw py::value_error("imgflow.decode: expected the file's bytes (bytes, bytearray or a contiguous memoryview)");
      py::gil_scoped_release released;
      image = imgflow::decode({static_cast<const std::uint8_t*>(bytes.ptr), static_cast<std::size_t>(bytes.size)},
                              settings);
    } else {
      throw py::type_error("imgflow.decode: expected a path (str or os.PathLike) or bytes, not " + type_name(source));
    }
  } catch (const imgflow::Error& e) {
    raise(e);
  }
  py::dict info = info_of(image);
  return py::make_tuple(to_array(std::move(image)), info);
}

void set_resolution(imgflow::ImageData& image, py::object dpi) {
  if (dpi.is_none()) return;
  if (py::isinstance<py::tuple>(dpi)) {
    const auto pair = dpi.cast<std::pair<double, double>>();
    image.dpi_x = pair.first, image.dpi_y = pair.second;
  } else {
    image.dpi_x = image.dpi_y = dpi.cast<double>();
  }
}

// A copy of a view's pixels as an image of the library's (rows packed), with the resolution
// `dpi` says (a number, (x, y), or None).
imgflow::ImageData image_of(const imgflow::MutablePixelView& view, py::object dpi) {
  imgflow::ImageData image;
  image.width = view.width, image.height = view.height, image.channels = view.channels, image.bit_depth = view.bit_depth;
  set_resolution(image, dpi);
  const std::size_t row = static_cast<std::size_t>(view.width) * view.channels * (view.bit_depth / 8);
  image.pixels.resize(row * view.height);
  for (int y = 0; y < view.height; ++y)
    std::memcpy(image.pixels.data() + row * y, static_cast<const std::uint8_t*>(view.data) + view.row_bytes * y, row);
  return image;
}

py::object apply(py::array array, py::object ops, bool inplace, py::object dpi) {
  const std::vector<imgflow::Step> steps = steps_of(ops);
  const imgflow::MutablePixelView view = view_of(array, "apply", inplace);
  try {
    if (inplace) {
      if (!dpi.is_none()) throw py::value_error("imgflow.apply: dpi is for a new image (inplace=False)");
      py::gil_scoped_release released;
      imgflow::apply_in_place(view, steps);
      return array;
    }
    imgflow::ImageData out;
    if (dpi.is_none()) {
      py::gil_scoped_release released;
      out = imgflow::apply(static_cast<imgflow::PixelView>(view), steps);
    } else {
      const imgflow::ImageData image = image_of(view, dpi);  // the resolution travels on an image
      py::gil_scoped_release released;
      out = imgflow::apply(image, steps);
    }
    return to_array(std::move(out), array.ndim() == 3);
  } catch (const imgflow::Error& e) {
    raise(e);
  }
}

py::bytes encode(py::array array, const std::string& format, int quality, bool lossless, const std::string& compression,
                 const std::string& png_level, py::object dpi, py::object icc, bool bilevel, bool strip) {
  imgflow::ImageData image = image_of(view_of(array, "encode", false), dpi);
  image.bilevel = bilevel;
  if (!icc.is_none()) {
    const std::string profile = icc.cast<std::string>();
    image.icc.assign(profile.begin(), profile.end());
  }
  const imgflow::EncodeOptions options{quality, lossless, compression, png_level, strip};
  std::vector<std::uint8_t> bytes;
  std::vector<std::string> fitted;
  try {
    py::gil_scoped_release released;
    bytes = imgflow::encode(image, format, options, &fitted);
  } catch (const imgflow::Error& e) {
    raise(e);
  }
  if (!fitted.empty()) {
    std::string all;
    for (const std::string& line : fitted) all += (all.empty() ? "" : "; ") + line;
    PyErr_WarnEx(PyExc_UserWarning, ("imgflow.encode: " + all).c_str(), 1);
  }
  return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// run()'s docstring: the settings' declarations, the texts of `imgflow --help`.
std::string run_doc() {
  std::string doc =
      "run(inputs, output_dir, ops=None, *, progress=None, messages=None, verbose=False, **settings) -> dict\n\n"
      "Runs a batch as the imgflow command does: every image of `inputs` (files and folders) through `ops`\n"
      "(default: brightness 0.25 then contrast 0.25), written whole into `output_dir`. Returns the run report\n"
      "(the command's --report JSON as a dict) with a 'failures' list. The GIL is released while it runs;\n"
      "Ctrl-C (KeyboardInterrupt) stops it as SIGINT stops the command: images in flight finish, no partial\n"
      "output is left, and the KeyboardInterrupt is raised. Raises imgflow.Error (with .stage, .file,\n"
      "and .reason) for settings that cannot go together or a run that cannot start.\n\n"
      "progress(dict(done, total, failed, input_bytes)) and messages(level, text) are called on the calling\n"
      "thread while it waits; verbose=True adds the 'debug' lines (the command's -v: a line per image).\n\n"
      "Settings (keyword arguments; the command's flags):\n";
  for (const imgflow::Declaration& d : imgflow::setting_declarations()) {
    if (d.name == "inputs" || d.name == "output_dir" || d.name == "operations") continue;
    doc += "  " + std::string(d.name) + " (" + std::string(d.type) + ", " + std::string(d.flag) + "): " + std::string(d.help) + "\n";
  }
  doc += "\nOperations (ops, in order):\n";
  for (const imgflow::Declaration& d : imgflow::operation_declarations())
    doc += "  " + std::string(d.name) + (d.type.empty() ? "" : " (" + std::string(d.type) + ")") + ": " + std::string(d.help) + "\n";
  return doc;
}

py::list declarations(std::span<const imgflow::Declaration> table) {
  py::list list;
  for (const imgflow::Declaration& d : table)
    list.append(py::make_tuple(std::string(d.name), std::string(d.flag), std::string(d.type), std::string(d.help)));
  return list;
}

}  // namespace

PYBIND11_MODULE(_imgflow, m) {
  m.doc() = "imgflow: bild-exact adjustments, document operations and strict decoders (the imgflow command's library)";
  m.attr("__version__") = imgflow::version();
  error_type = PyErr_NewExceptionWithDoc(
      "imgflow.Error",
      "What imgflow refuses: .stage ('settings', 'read', 'decode', 'apply', 'encode', 'write', 'list'), .file "
      "(the file, or ''), .reason.",
      nullptr, nullptr);
  m.add_object("Error", py::handle(error_type));
  m.def("run", &run, run_doc().c_str(), py::arg("inputs"), py::arg("output_dir"), py::arg("ops") = py::none(),
        py::kw_only(), py::arg("progress") = py::none(), py::arg("messages") = py::none(), py::arg("verbose") = false);
  m.def("decode", &decode,
        "decode(source, *, page=1, max_pixels=200000000, verify_checksums=True, strict=False) -> (numpy.ndarray, dict)\n\n"
        "Decodes one page of an image file (a path) or of its bytes, upright: an array of shape (height, width) for\n"
        "gray or (height, width, channels), uint8 or uint16; a 1-bit page as uint8 0 and 255 (info['bit_depth'] is 1).\n"
        "info: width, height, channels, bit_depth, format, page, pages, dpi ((x, y) or None), icc (bytes or None),\n"
        "srgb (True for the standard sRGB profile, which travels as PNG's sRGB chunk rather than as bytes), warnings. Raises imgflow.Error (stage 'read' or 'decode').",
        py::arg("source"), py::kw_only(), py::arg("page") = 1, py::arg("max_pixels") = 200'000'000,
        py::arg("verify_checksums") = true, py::arg("strict") = false);
  m.def("apply", &apply,
        "apply(array, ops, *, inplace=False, dpi=None) -> numpy.ndarray\n\n"
        "Applies ops (as run's) to a uint8 or uint16 array of shape (height, width) or (height, width, 1-4), exactly as\n"
        "the command does to a page. inplace=True changes `array` itself (point adjustments without a copy, rows may be\n"
        "strided) and returns it; otherwise a new array, which may have another shape (grayscale, threshold, dpi),\n"
        "3-dimensional when `array` is.\n"
        "dpi: the image's resolution (a number or (x, y)), needed by a dpi operation. The GIL is released while it\n"
        "works. Raises TypeError (dtype), ValueError (layout) or imgflow.Error.",
        py::arg("array"), py::arg("ops"), py::kw_only(), py::arg("inplace") = false, py::arg("dpi") = py::none());
  m.def("encode", &encode,
        "encode(array, format='png', *, quality=0, lossless=False, compression='auto', png_level='default', dpi=None,\n"
        "       icc=None, bilevel=False, strip=False) -> bytes\n\n"
        "Encodes an array as png, tiff, jpeg, webp, jp2 or pdf, by the command's rules (quality 0: the format's\n"
        "default). bilevel=True writes a uint8 array of 0 and 255 as 1 bit where the format can. A layout the format\n"
        "cannot hold is fitted (16 bits cut to 8, alpha flattened onto white) with a UserWarning.",
        py::arg("array"), py::arg("format") = "png", py::kw_only(), py::arg("quality") = 0, py::arg("lossless") = false,
        py::arg("compression") = "auto", py::arg("png_level") = "default", py::arg("dpi") = py::none(),
        py::arg("icc") = py::none(), py::arg("bilevel") = false, py::arg("strip") = false);
  m.def("_settings", [] { return declarations(imgflow::setting_declarations()); },
        "The run settings' declarations: (name, flag, type, help), as --help prints them.");
  m.def("_operations", [] { return declarations(imgflow::operation_declarations()); },
        "The operations' declarations: (name, flag, type, help).");
}
