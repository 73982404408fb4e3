#include "pipeline/listing.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <system_error>

#include "codec/formats.hpp"
#include "pipeline/file_io.hpp"

namespace imgflow {
namespace fs = std::filesystem;
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

bool is_hidden(const fs::path& p) {
  const auto name = p.filename().native();
  return !name.empty() && name[0] == '.';
}

void walk(const fs::path& root, const fs::path& relative, bool recursive, const fs::path& skip_dir,
          Listing& listing) {
  std::error_code ec;
  fs::directory_iterator it(root / relative, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    if (is_hidden(entry.path())) {
      std::error_code type_ec;
      if (entry.is_regular_file(type_ec)) listing.skipped.push_back({relative / entry.path().filename(), "hidden file"});
      continue;
    }
    const auto rel = relative / entry.path().filename();
    std::error_code type_ec;
    if (entry.is_directory(type_ec)) {
      if (!recursive) continue;
      if (!skip_dir.empty() && fs::equivalent(entry.path(), skip_dir, type_ec)) continue;
      walk(root, rel, recursive, skip_dir, listing);
    } else if (has_image_extension(rel)) {
      listing.images.push_back(rel);  // whatever it is, reading it will say what is wrong
    } else {
      listing.skipped.push_back({rel, skip_reason(rel)});
    }
  }
  if (ec) listing.errors.push_back({root / relative, ec.message()});
}

}  // namespace

bool natural_less(std::string_view a, std::string_view b) {
  if (const int c = compare_natural(a, b)) return c < 0;
  return a < b;  // e.g. "a01" and "a1" compare equal by value; keep the order total
}

bool natural_path_less(const fs::path& a, const fs::path& b) {
  auto ia = a.begin(), ib = b.begin();
  for (; ia != a.end() && ib != b.end(); ++ia, ++ib) {
    if (natural_less(std::string_view(ia->native()), std::string_view(ib->native()))) return true;
    if (natural_less(std::string_view(ib->native()), std::string_view(ia->native()))) return false;
  }
  return ia == a.end() && ib != b.end();
}

bool has_image_extension(const fs::path& path) {
  const Format* format = format_of_name(path.filename().string());
  return format && format->decode;
}

std::string skip_reason(const fs::path& path) {
  const Format* format = format_of_name(path.filename().string());
  if (format && !format->decode) return std::string(format->name) + ": " + std::string(format->advice);
  return "not an image";
}

Listing list_images(const fs::path& root, bool recursive, const fs::path& skip_dir) {
  Listing listing;
  walk(root, {}, recursive, skip_dir, listing);
  std::sort(listing.images.begin(), listing.images.end(),
            [](const fs::path& a, const fs::path& b) { return natural_path_less(a, b); });
  std::sort(listing.skipped.begin(), listing.skipped.end(),
            [](const SkippedFile& a, const SkippedFile& b) { return natural_path_less(a.path, b.path); });
  return listing;
}

fs::path output_relative_path(const fs::path& input_relative) {
  fs::path out = input_relative;
  out.replace_extension(".png");
  return out;
}

Listing list_run_inputs(const fs::path& input_dir, const fs::path& output_dir, bool recursive,
                        const fs::path& files_from) {
  if (!files_from.empty()) {
    const auto bytes = read_file(files_from);
    return read_file_list({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, input_dir);
  }
  std::error_code ec;
  return list_images(input_dir, recursive, fs::exists(output_dir, ec) ? output_dir : fs::path{});
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

Listing read_file_list(std::string_view text, const fs::path& root) {
  Listing listing;
  const fs::path root_normal = root.lexically_normal();
  std::error_code ec;
  const fs::path root_absolute = fs::absolute(root, ec).lexically_normal();
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    const fs::path path = fs::path(unescape_list_field(line.substr(0, line.find('\t')))).lexically_normal();
    const auto inside = [](const fs::path& relative) {
      return !relative.empty() && *relative.begin() != ".." && relative != ".";
    };
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
      listing.errors.push_back({path, "not inside the input directory " + root.string()});
      continue;
    }
    listing.images.push_back(relative);
    // Further fields: "page=N" selects a page (imgflow's --failures lists write one per page).
    std::string_view rest = line.find('\t') == std::string_view::npos ? std::string_view{} : line.substr(line.find('\t'));
    for (std::size_t at = rest.find("\tpage="); at != std::string_view::npos; at = rest.find("\tpage=", at + 1)) {
      int page = 0;
      const char* begin = rest.data() + at + 6;
      const auto [page_end, error] = std::from_chars(begin, rest.data() + rest.size(), page);
      if (error == std::errc{} && page >= 1 && (page_end == rest.data() + rest.size() || *page_end == '\t'))
        listing.pages[relative].push_back(page);
    }
  }
  std::sort(listing.images.begin(), listing.images.end(), natural_path_less);
  listing.images.erase(std::unique(listing.images.begin(), listing.images.end()), listing.images.end());
  return listing;
}

}  // namespace imgflow
