#include "codec/xmp.hpp"

namespace imgflow::xmp {
namespace {

constexpr std::string_view kSoftwareAttribute = "xmp:CreatorTool=\"";
constexpr std::string_view kSourceAttribute = "imgflow:source=\"";

void append_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
}

std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    static constexpr std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool known = false;
    for (const auto& [entity, c] : kEntities)
      if (text.substr(i).starts_with(entity)) {
        out += c;
        i += entity.size() - 1;
        known = true;
        break;
      }
    if (!known) out += '&';
  }
  return out;
}

std::string attribute(std::string_view text, std::string_view name) {
  const auto start = text.find(name);
  if (start == std::string_view::npos) return {};
  const auto value = start + name.size();
  const auto end = text.find('"', value);
  if (end == std::string_view::npos) return {};
  return unescape(text.substr(value, end - value));
}

}  // namespace

std::string packet(std::string_view software, std::string_view source) {
  std::string out =
      "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>"
      "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">"
      "<rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" "
      "xmlns:imgflow=\"https://github.com/imgflow/imgflow/ns/1.0/\" ";
  out += kSoftwareAttribute;
  append_escaped(out, software);
  out += "\" ";
  out += kSourceAttribute;
  append_escaped(out, source);
  out += "\"/></rdf:RDF></x:xmpmeta><?xpacket end=\"r\"?>";
  return out;
}

Stamp read(std::span<const std::uint8_t> bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return {attribute(text, kSoftwareAttribute), attribute(text, kSourceAttribute)};
}

}  // namespace imgflow::xmp
