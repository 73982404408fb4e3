#include "files/listing.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <system_error>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <set>

#include "codec/formats.hpp"
#include "files/file_io.hpp"

namespace imgflow {
namespace fs = std::filesystem;

bool is_hidden(std::string_view name) { return !name.empty() && name[0] == '.'; }

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Compares two digit runs by value; equal values with different zero padding order by length.
int compare_numbers(std::string_view a, std::string_view b) {
  const auto significant = [](std::string_view s) {
    const auto first = s.find_first_not_of('0');
    return first == std::string_view::npos ? std::string_view{} : s.substr(first);
  };
  const auto sa = significant(a), sb = significant(b);
  if (sa.size() != sb.size()) return sa.size() < sb.size() ? -1 : 1;
  if (const int c = sa.compare(sb)) return c;
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

int compare_natural(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && is_digit(a[ie])) ++ie;
      while (je < b.size() && is_digit(b[je])) ++je;
      if (const int c = compare_numbers(a.substr(i, ie - i), b.substr(j, je - j))) return c;
      i = ie, j = je;
    } else {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
      ++i, ++j;
    }
  }
  if (i < a.size()) return 1;
  if (j < b.size()) return -1;
  return 0;
}

struct DeviceInode {
  dev_t device;
  ino_t inode;
  auto operator<=>(const DeviceInode&) const = default;
};

DeviceInode identity(const struct stat& info) { return {info.st_dev, info.st_ino}; }

// Adds a file the walk met as an input or a skip. A name of an image that is not a regular file
// (`special`: a dangling link, a FIFO, a device, a socket) is an input all the same: its read
// fails with the reason, before opening it, so that the run counts it, lists it in --failures
// and exits 1. Under any other name it is skipped with that reason, with a line of its own.
void add_file(Listing& listing, const char* path, std::size_t relative_from, std::string_view name,
              const std::string& special = {}) {
  const fs::path file_name(name);  // what the extension checks look at
  if (is_hidden(name))
    listing.skipped.push_back({path, special.empty() ? "hidden file" : special});
  else if (has_image_extension(file_name))
    listing.add(path, relative_from);  // reading it says what is wrong
  else if (!special.empty())
    listing.skipped.push_back({path, special, true});
  else
    listing.skipped.push_back({path, skip_reason(file_name)});
}

// Whether `path` (a link met below `root`) leads to one of the directories above it.
bool leads_to_ancestor(const std::string& path, std::size_t root_length, const DeviceInode& target) {
  struct stat info {};
  for (fs::path up = fs::path(path).parent_path(); up.string().size() >= root_length; up = up.parent_path()) {
    if (::stat(up.c_str(), &info) == 0 && identity(info) == target) return true;
    if (!up.has_parent_path() || up == up.parent_path()) break;
  }
  return false;
}

// Whether a directory can be opened for listing (errno set when not). recursive_directory_iterator
// ends the whole walk when it cannot enter a subdirectory, so each is tried first.
bool can_list(const char* path) {
  DIR* dir = ::opendir(path);
  if (!dir) return false;
  ::closedir(dir);
  return true;
}

// Walks one directory with std::filesystem::recursive_directory_iterator, physical (links are
// not followed, so the walk is the tree). With `follow_symlinks`, a link to a directory is
// walked after the tree it is in (so that a directory is listed under its own path rather than
// a link's), and each directory is entered once: a loop, or a second way into a directory, is
// reported and skipped.
void walk(const fs::path& root, const WalkOptions& options, const std::vector<DeviceInode>& skip, Listing& listing) {
  const std::string root_text = root.string();
  // Paths below the root: the root's own text, a '/' unless it ends in one, then the rest.
  const std::size_t relative_from = root_text.size() + (root_text.ends_with('/') ? 0 : 1);
  const std::size_t first = listing.files.size();
  std::set<DeviceInode> entered;
  // Enters a directory once; says why not otherwise.
  const auto enter = [&](const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
      listing.errors.push_back({path, std::strerror(errno)});
      return false;
    }
    if (std::find(skip.begin(), skip.end(), identity(info)) != skip.end()) return false;
    if (!entered.insert(identity(info)).second) {
      const bool loop = leads_to_ancestor(path, root_text.size(), identity(info));
      listing.skipped.push_back({path, loop ? "a directory loop: it leads back to " + fs::canonical(path).string()
                                            : "a directory listed already by another path",
                                 true});
      return false;
    }
    if (!can_list(path.c_str())) {
      listing.errors.push_back({path, std::strerror(errno)});
      return false;
    }
    return true;
  };
  std::deque<std::string> starts{root_text};  // the root, then the links to follow
  while (!starts.empty()) {
    const std::string start = std::move(starts.front());
    starts.pop_front();
    if (!enter(start)) continue;
    // A link: read through to a file; to a directory, followed later (-L) or not at all.
    const auto on_link = [&](const std::string& path, std::string_view name) {
      struct stat target {};
      if (::stat(path.c_str(), &target) != 0) {
        add_file(listing, path.c_str(), relative_from, name, "a dangling symbolic link");
      } else if (S_ISREG(target.st_mode)) {
        add_file(listing, path.c_str(), relative_from, name);
      } else if (S_ISDIR(target.st_mode)) {
        if (!options.recursive || is_hidden(name)) return;
        if (options.follow_symlinks)
          starts.push_back(path);
        else
          listing.skipped.push_back({path, "a symbolic link to a directory, not followed", true});
      } else {
        add_file(listing, path.c_str(), relative_from, name, not_a_regular_file(target.st_mode));
      }
    };
    std::error_code ec;
    fs::recursive_directory_iterator it(start, fs::directory_options::none, ec);
    for (const fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
      const fs::path& entry_path = it->path();
      const std::string path = entry_path.string();
      const std::string name = entry_path.filename().string();
      // The type readdir gave (d_type), through directory_entry's cached queries: no stat,
      // unless the filesystem gives no type. (symlink_status() would stat every file.)
      std::error_code type_ec;
      if (it->is_symlink(type_ec)) {
        on_link(path, name);
      } else if (it->is_directory(type_ec)) {
        if (!options.recursive || is_hidden(name) || !enter(path)) it.disable_recursion_pending();
      } else if (it->is_regular_file(type_ec)) {
        add_file(listing, path.c_str(), relative_from, name);
      } else if (type_ec) {
        listing.errors.push_back({path, type_ec.message()});
      } else {  // a FIFO, device or socket: never opened
        struct stat info {};
        if (::lstat(path.c_str(), &info) == 0) add_file(listing, path.c_str(), relative_from, name, not_a_regular_file(info.st_mode));
      }
    }
    if (ec) listing.errors.push_back({it == fs::recursive_directory_iterator() ? fs::path(start) : it->path(), ec.message()});
  }
  std::sort(listing.files.begin() + static_cast<std::ptrdiff_t>(first), listing.files.end(),
            [](const ListedFile& a, const ListedFile& b) {
              return natural_path_text_less(a.path().substr(a.relative_from), b.path().substr(b.relative_from));
            });
}

}  // namespace

bool natural_less(std::string_view a, std::string_view b) {
  if (const int c = compare_natural(a, b)) return c < 0;
  return a < b;  // e.g. "a01" and "a1" compare equal by value; keep the order total
}

bool natural_path_text_less(std::string_view a, std::string_view b) {
  // Component by component ('/'-separated), without building paths: a listing sorts millions.
  while (!a.empty() && !b.empty()) {
    const std::string_view ca = a.substr(0, a.find('/')), cb = b.substr(0, b.find('/'));
    if (const int c = compare_natural(ca, cb)) return c < 0;
    if (ca != cb) return ca < cb;
    a.remove_prefix(std::min(a.size(), ca.size() + 1));
    b.remove_prefix(std::min(b.size(), cb.size() + 1));
  }
  return a.empty() && !b.empty();
}

bool natural_path_less(const fs::path& a, const fs::path& b) {
  return natural_path_text_less(a.native(), b.native());
}

bool has_image_extension(const fs::path& path) {
  const Format* format = format_of_name(path.filename().string());
  return format && format->decode;
}

std::optional<fs::path> output_rival(const fs::path& input, const fs::path& folder) {
  const std::string name = input.filename().string();
  const std::size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return std::nullopt;
  const std::string stem = name.substr(0, dot);
  const fs::path dir = folder.empty() ? input.parent_path() : folder;
  const std::string own = name.substr(dot);
  for (const Format& format : formats()) {
    if (!format.decode) continue;
    for (const std::string_view extension : format.extensions) {
      std::string upper(extension);
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      for (const std::string& candidate : {std::string(extension), upper}) {
        if (candidate == own) continue;  // the input itself (or, elsewhere, one of its name)
        const fs::path path = dir / (stem + candidate);
        struct stat info {};
        if (::lstat(path.c_str(), &info) == 0) return path;
      }
    }
  }
  return std::nullopt;
}

std::string skip_reason(const fs::path& path) {
  const Format* format = format_of_name(path.filename().string());
  if (format && !format->decode) return std::string(format->name) + ": " + std::string(format->advice);
  return "not an image";
}

Listing list_inputs(const std::vector<fs::path>& inputs, const WalkOptions& options) {
  Listing listing;
  struct stat info {};
  std::vector<DeviceInode> skip;
  for (const fs::path& dir : options.skip_dirs)
    if (!dir.empty() && ::stat(dir.c_str(), &info) == 0) skip.push_back(identity(info));
  for (const fs::path& input : inputs) {
    if (::stat(input.c_str(), &info) != 0) {
      listing.errors.push_back({input, std::strerror(errno)});
    } else if (S_ISDIR(info.st_mode)) {
      walk(input, options, skip, listing);
    } else {
      // A file named on its own is an input whatever its name; its output goes to the top. One
      // that is not a regular file (a device, a FIFO) fails when read, before it is opened.
      const std::string text = input.string();
      listing.named.push_back(listing.files.size());
      listing.add(text, text.size() - input.filename().string().size());
    }
  }
  std::sort(listing.skipped.begin(), listing.skipped.end(),
            [](const SkippedFile& a, const SkippedFile& b) { return natural_path_less(a.path, b.path); });
  return listing;
}

Listing list_images(const fs::path& root, bool recursive, const fs::path& skip_dir) {
  return list_inputs({root}, {recursive, false, {skip_dir}});
}

namespace {

// A file's output without its ".png": the relative path without its extension (as
// fs::path::replace_extension sees it: from the file name's last '.', not a leading one).
std::string_view output_stem(std::string_view relative) {
  const std::size_t name = relative.rfind('/') == std::string_view::npos ? 0 : relative.rfind('/') + 1;
  const std::size_t dot = relative.rfind('.');
  if (dot == std::string_view::npos || dot <= name) return relative;
  return relative.substr(0, dot);
}

std::string_view output_stem(const ListedFile& file) { return output_stem(file.path().substr(file.relative_from)); }

}  // namespace

std::string_view NameStorage::store(std::string_view text) {
  const std::size_t need = text.size() + 1;  // with a NUL, for the C library
  char* at = nullptr;
  if (need > kBlock) {
    // An outsize name gets a block of its own, kept before the block being filled.
    auto block = std::make_unique<char[]>(need);
    at = block.get();
    const bool first = blocks_.empty();
    blocks_.insert(first ? blocks_.end() : blocks_.end() - 1, std::move(block));
    if (first) used_ = kBlock;  // it is the last block: the next name starts a new one
  } else {
    if (kBlock - used_ < need) {
      blocks_.push_back(std::make_unique<char[]>(kBlock));
      used_ = 0;
    }
    at = blocks_.back().get() + used_;
    used_ += need;
  }
  std::copy(text.begin(), text.end(), at);
  at[text.size()] = '\0';
  return {at, text.size()};
}

OutputIndex::OutputIndex(const Listing& listing) : order_(listing.files.size()) {
  // Each stem's length once (4 bytes a file while sorting), not found again per comparison.
  std::vector<std::uint32_t> stem_sizes(listing.files.size());
  for (std::size_t i = 0; i < order_.size(); ++i) {
    order_[i] = static_cast<std::uint32_t>(i);
    stem_sizes[i] = static_cast<std::uint32_t>(output_stem(listing.files[i]).size());
  }
  const auto stem = [&](std::uint32_t i) {
    const ListedFile& file = listing.files[i];
    return std::string_view(file.data + file.relative_from, stem_sizes[i]);
  };
  std::sort(order_.begin(), order_.end(), [&](std::uint32_t a, std::uint32_t b) {
    const int c = stem(a).compare(stem(b));
    return c != 0 ? c < 0 : a < b;
  });
}

std::optional<std::size_t> OutputIndex::claimed_before(const Listing& listing, std::size_t i) const {
  const std::string_view stem = output_stem(listing.files[i]);
  const auto first = std::lower_bound(order_.begin(), order_.end(), stem, [&](std::uint32_t at, std::string_view key) {
    return output_stem(listing.files[at]) < key;
  });
  if (first == order_.end() || *first == i) return std::nullopt;
  return *first;
}

bool OutputIndex::taken(const Listing& listing, const fs::path& relative) const {
  const std::string text = relative.string();
  const std::string_view stem = output_stem(std::string_view(text));
  if (stem.size() == text.size()) return false;  // no extension: no output's name
  const auto first = std::lower_bound(order_.begin(), order_.end(), stem, [&](std::uint32_t at, std::string_view key) {
    return output_stem(listing.files[at]) < key;
  });
  return first != order_.end() && output_stem(listing.files[*first]) == stem;
}

fs::path output_relative_path(const fs::path& input_relative, std::string_view extension) {
  fs::path out = input_relative;
  out.replace_extension(extension);
  return out;
}

Listing list_run_inputs(const InputSpec& spec, const fs::path& output_dir) {
  if (!spec.files_from.empty()) {
    Bytes bytes;
    read_stream(spec.files_from, bytes);  // any readable stream: a file, a pipe, a FIFO, "-"

    const fs::path root = spec.inputs.empty() ? fs::path(".") : spec.inputs.front();
    return read_file_list({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, root, spec.separator);
  }
  WalkOptions walk = spec.walk;
  walk.skip_dirs = {output_dir};
  return list_inputs(spec.inputs, walk);
}

std::string escape_list_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (const char c : field) {
    switch (c) {
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\\': out += "\\\\"; break;
      default: out += c;
    }
  }
  return out;
}

std::string unescape_list_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\' || i + 1 == field.size()) {
      out += field[i];
      continue;
    }
    switch (const char next = field[++i]) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      default: out += next;  // "\\" and anything unknown: the character itself
    }
  }
  return out;
}

Listing read_file_list(std::string_view text, const fs::path& root, char separator) {
  Listing listing;
  const fs::path root_normal = root.lexically_normal();
  std::error_code ec;
  const fs::path root_absolute = fs::absolute(root, ec).lexically_normal();
  const auto inside = [](const fs::path& relative) {
    return !relative.empty() && *relative.begin() != ".." && relative != ".";
  };
  // By relative path, in natural order, without duplicates: the pages asked for (none: all).
  std::map<fs::path, std::vector<int>, bool (*)(const fs::path&, const fs::path&)> named(&natural_path_less);
  while (!text.empty()) {
    const auto end = text.find(separator);
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (separator == '\n') {
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty() || line[0] == '#') continue;
    } else if (line.empty()) {
      continue;
    }
    const std::string_view first = separator == '\n' ? line.substr(0, line.find('\t')) : line;
    const fs::path path = fs::path(separator == '\n' ? unescape_list_field(first) : std::string(first)).lexically_normal();
    fs::path relative;
    if (path.is_absolute()) {
      relative = path.lexically_relative(root_absolute);
    } else if (const auto under_root = path.lexically_relative(root_normal);
               root_normal != "." && inside(under_root)) {
      relative = under_root;
    } else {
      relative = path;
    }
    if (!inside(relative) || relative.is_absolute()) {
      listing.errors.push_back({path, root_normal == "." ? "not inside the current directory"
                                                         : "not inside the input directory " + root.string()});
      continue;
    }
    std::vector<int>& pages = named[relative];
    if (separator != '\n') continue;
    // Further fields: "page=N" selects a page (imgflow's --failures lists write one per page).
    std::string_view rest = line.find('\t') == std::string_view::npos ? std::string_view{} : line.substr(line.find('\t'));
    for (std::size_t at = rest.find("\tpage="); at != std::string_view::npos; at = rest.find("\tpage=", at + 1)) {
      int page = 0;
      const char* begin = rest.data() + at + 6;
      const auto [page_end, error] = std::from_chars(begin, rest.data() + rest.size(), page);
      if (error == std::errc{} && page >= 1 && (page_end == rest.data() + rest.size() || *page_end == '\t'))
        pages.push_back(page);
    }
  }
  const std::string prefix = root_normal == "." ? std::string{} : (root / "").string();
  for (auto& [relative, pages] : named) {
    if (!pages.empty()) listing.pages[listing.files.size()] = std::move(pages);
    listing.add(prefix + relative.string(), prefix.size());
  }
  return listing;
}

}  // namespace imgflow
