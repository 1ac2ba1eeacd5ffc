#include "common/utf8.hpp"

namespace vigil::common {

std::string truncate_utf8(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  static constexpr std::string_view ellipsis = "\xe2\x80\xa6";  // U+2026, 3 bytes
  if (max < ellipsis.size()) return {};
  std::size_t cut = max - ellipsis.size();
  // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80)
    --cut;
  return std::string(text.substr(0, cut)) + std::string(ellipsis);
}

}  // namespace vigil::common
