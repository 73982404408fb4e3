#include "app/cli_docs.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <map>

namespace imgflow {
namespace {

// Text for roff: backslashes and hyphens escaped, no line starting with a control character.
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (const char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
    line_start = c == '\n';
  }
  return out;
}

// "-j, --threads" as the option is spelled.
std::string flag_names(const CLI::Option& option) {
  std::string names;
  for (const auto& name : option.get_snames()) names += (names.empty() ? "-" : ", -") + name;
  for (const auto& name : option.get_lnames()) names += (names.empty() ? "--" : ", --") + name;
  return names;
}

bool documented(const CLI::Option* option) { return !option->get_group().empty() && option->nonpositional(); }

}  // namespace

std::string man_page_text(const CLI::App& app, const ManPageExtra& extra) {
  const std::string name = app.get_name();
  std::string page = fmt::format(".TH {} 1 \"\" \"{}\" \"User Commands\"\n", roff(name), roff(name));
  std::string description = app.get_description();
  const auto colon = description.find(": ");
  page += ".SH NAME\n" + roff(name) + " \\- " +
          roff(colon == std::string::npos ? description : description.substr(colon + 2, description.find(". ") - colon - 2)) + "\n";
  page += ".SH SYNOPSIS\n" + std::string(extra.synopsis);
  page += ".SH DESCRIPTION\n" + roff(colon == std::string::npos ? description : description.substr(colon + 2)) + "\n";
  // Options by group, in declaration order.
  std::vector<std::string> groups;
  std::map<std::string, std::vector<const CLI::Option*>> by_group;
  for (const CLI::Option* option : app.get_options(documented)) {
    if (!by_group.count(option->get_group())) groups.push_back(option->get_group());
    by_group[option->get_group()].push_back(option);
  }
  for (const std::string& group : groups) {
    page += ".SH " + roff(group == "Options" ? "OPTIONS" : group) + "\n";
    for (const CLI::Option* option : by_group[group]) {
      page += ".TP\n\\fB" + roff(flag_names(*option)) + "\\fR";
      if (option->get_type_size() != 0 && option->get_expected_min() > 0) {
        std::string type = option->get_type_name();
        page += " \\fI" + roff(type.empty() ? "VALUE" : type) + "\\fR";
      }
      page += "\n" + roff(option->get_description());
      if (!option->get_default_str().empty()) page += " (default: " + roff(option->get_default_str()) + ")";
      page += "\n";
    }
  }
  for (const auto& [title, text] : extra.sections) page += ".SH " + std::string(title) + "\n" + roff(text) + "\n";
  return page;
}

std::string bash_completion_text(const CLI::App& app) {
  const std::string name = app.get_name();
  std::string flags, file_flags, choices;
  for (const CLI::Option* option : app.get_options(documented)) {
    const std::string names = flag_names(*option);
    for (const auto& long_name : option->get_lnames()) flags += " --" + long_name;
    for (const auto& short_name : option->get_snames()) flags += " -" + short_name;
    if (option->get_type_size() == 0 || option->get_expected_min() == 0) continue;
    const std::string type = option->get_type_name();
    if (type.find("FILE") != std::string::npos || type.find("DIR") != std::string::npos) {
      for (const auto& long_name : option->get_lnames()) file_flags += " --" + long_name;
    } else if (const auto set = type.find(" in {"); set != std::string::npos || type.find('{') != std::string::npos) {
      // CLI11's IsMember writes "TEXT:{a,b,c}".
      const auto open = type.find('{'), close = type.find('}');
      std::string words = type.substr(open + 1, close - open - 1);
      for (char& c : words)
        if (c == ',') c = ' ';
      for (const auto& long_name : option->get_lnames())
        choices += fmt::format("    --{}) COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); return ;;\n", long_name, words);
    }
  }
  std::string function = "_" + name;
  for (char& c : function)
    if (c == '-') c = '_';
  return fmt::format(
      "# bash completion for {0} (generated from its command-line declarations)\n"
      "{1}() {{\n"
      "  local cur=\"${{COMP_WORDS[COMP_CWORD]}}\" prev=\"${{COMP_WORDS[COMP_CWORD-1]}}\"\n"
      "  case \"$prev\" in\n"
      "{2}"
      "    {3}) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
      "  esac\n"
      "  if [[ \"$cur\" == -* ]]; then\n"
      "    COMPREPLY=($(compgen -W \"{4}\" -- \"$cur\"))\n"
      "  else\n"
      "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
      "  fi\n"
      "}}\n"
      "complete -o filenames -F {1} {0}\n",
      name, function, choices, file_flags.empty() ? "--no-such-flag" : fmt::format("{}", [&] {
        std::string alternatives = file_flags.substr(1);
        for (char& c : alternatives)
          if (c == ' ') c = '|';
        return alternatives;
      }()),
      flags.substr(flags.empty() ? 0 : 1));
}

DocumentationFlags::DocumentationFlags(CLI::App& app) {
  app.add_flag("--generate-man-page", man_page_, "Print the man page (roff) and exit")->group("");
  app.add_flag("--generate-bash-completion", completion_, "Print the bash completion script and exit")->group("");
}

bool DocumentationFlags::print(const CLI::App& app, const ManPageExtra& extra) const {
  if (man_page_) std::fputs(man_page_text(app, extra).c_str(), stdout);
  if (completion_) std::fputs(bash_completion_text(app).c_str(), stdout);
  return requested();
}

}  // namespace imgflow
