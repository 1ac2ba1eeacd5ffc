#pragma once
// A minimal XML reader for AWS answers (query and REST-XML protocols): builds
// a small element tree, keeping element names (namespace prefixes dropped),
// concatenated text and children. Attributes, comments, processing
// instructions and DOCTYPE are skipped; the five predefined entities, numeric
// character references and CDATA are decoded. It is not a validating parser:
// it accepts what AWS sends and rejects unbalanced tags.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::aws {

struct xml_node {
  std::string name;
  std::string text;  ///< character data directly inside this element
  std::vector<xml_node> children;

  /// First direct child with this name, or nullptr.
  [[nodiscard]] const xml_node* child(std::string_view n) const;
  /// Follows a '/'-separated path of direct children ("Error/Code").
  [[nodiscard]] const xml_node* path(std::string_view p) const;
  /// First element with this name anywhere below (depth first), or nullptr.
  [[nodiscard]] const xml_node* descendant(std::string_view n) const;
  /// Text of path(p), or `fallback` when absent.
  [[nodiscard]] std::string text_at(std::string_view p, const std::string& fallback = {}) const;
  /// Direct children with this name ("member" lists).
  [[nodiscard]] std::vector<const xml_node*> all(std::string_view n) const;
};

/// Parses a document; on failure returns nullopt and sets *error.
[[nodiscard]] std::optional<xml_node> parse_xml(std::string_view doc, std::string* error = nullptr);

/// Escapes &, <, >, " and ' for element text or attribute values.
[[nodiscard]] std::string xml_escape(std::string_view s);

}  // namespace vigil::aws
