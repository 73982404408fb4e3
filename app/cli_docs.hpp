#pragma once
// The man page and the bash completion script, generated from the same CLI11 declarations as
// --help (the build runs the tools to write them): no second copy of any flag's text.
#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

namespace imgflow {

/// Sections a man page has beyond the options: each "NAME\ntext" block becomes a section.
struct ManPageExtra {
  std::string_view synopsis;   ///< roff lines
  std::vector<std::pair<std::string_view, std::string_view>> sections;  ///< title, text
};

/// A man page (section 1) for `app`: NAME, SYNOPSIS, DESCRIPTION, OPTIONS by group, `extra`.
std::string man_page_text(const CLI::App& app, const ManPageExtra& extra);

/// A bash completion script: every flag, FILE values completed as files, choices listed.
std::string bash_completion_text(const CLI::App& app);

/// The hidden flags with which a tool prints its own man page or completion script (the build
/// runs them): declared on `app` by the constructor, acted on after parsing.
class DocumentationFlags {
 public:
  explicit DocumentationFlags(CLI::App& app);
  DocumentationFlags(const DocumentationFlags&) = delete;  // CLI11 holds the flags' addresses
  DocumentationFlags& operator=(const DocumentationFlags&) = delete;
  bool requested() const { return man_page_ || completion_; }
  /// Prints what was asked for to stdout; true if anything was (the tool then exits 0).
  bool print(const CLI::App& app, const ManPageExtra& extra) const;

 private:
  bool man_page_ = false, completion_ = false;
};

}  // namespace imgflow
