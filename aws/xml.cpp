#include "aws/xml.hpp"

#include <charconv>

namespace vigil::aws {
namespace {

void append_utf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void decode_text(std::string_view s, std::string& out) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    const auto semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) {
      out.push_back('&');
      continue;
    }
    const auto ent = s.substr(i + 1, semi - i - 1);
    if (ent == "lt") {
      out.push_back('<');
    } else if (ent == "gt") {
      out.push_back('>');
    } else if (ent == "amp") {
      out.push_back('&');
    } else if (ent == "quot") {
      out.push_back('"');
    } else if (ent == "apos") {
      out.push_back('\'');
    } else if (ent.size() > 1 && ent[0] == '#') {
      unsigned long cp = 0;
      const bool hexa = ent[1] == 'x' || ent[1] == 'X';
      const auto digits = ent.substr(hexa ? 2 : 1);
      const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hexa ? 16 : 10);
      if (r.ec != std::errc{} || cp > 0x10FFFF) {
        out.append(s.substr(i, semi - i + 1));
      } else {
        append_utf8(out, cp);
      }
    } else {
      out.append(s.substr(i, semi - i + 1));
    }
    i = semi;
  }
}

std::string_view local_name(std::string_view n) {
  const auto colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

class parser {
 public:
  explicit parser(std::string_view d) : d_(d) {}

  std::optional<xml_node> run(std::string* error) {
    std::vector<xml_node> stack;
    std::optional<xml_node> root;
    while (pos_ < d_.size()) {
      const auto lt = d_.find('<', pos_);
      if (lt == std::string_view::npos) {
        if (!stack.empty()) decode_text(d_.substr(pos_), stack.back().text);
        pos_ = d_.size();
        break;
      }
      if (!stack.empty() && lt > pos_) decode_text(d_.substr(pos_, lt - pos_), stack.back().text);
      pos_ = lt;
      if (d_.substr(pos_, 4) == "<!--") {
        if (!skip_past("-->")) return fail(error, "unterminated comment");
      } else if (d_.substr(pos_, 9) == "<![CDATA[") {
        const auto end = d_.find("]]>", pos_ + 9);
        if (end == std::string_view::npos) return fail(error, "unterminated CDATA");
        if (!stack.empty()) stack.back().text.append(d_.substr(pos_ + 9, end - pos_ - 9));
        pos_ = end + 3;
      } else if (d_.substr(pos_, 2) == "<?") {
        if (!skip_past("?>")) return fail(error, "unterminated processing instruction");
      } else if (d_.substr(pos_, 2) == "<!") {
        if (!skip_past(">")) return fail(error, "unterminated declaration");
      } else if (d_.substr(pos_, 2) == "</") {
        const auto gt = d_.find('>', pos_);
        if (gt == std::string_view::npos) return fail(error, "unterminated end tag");
        auto name = d_.substr(pos_ + 2, gt - pos_ - 2);
        while (!name.empty() &&
               (name.back() == ' ' || name.back() == '\t' || name.back() == '\n' || name.back() == '\r')) {
          name.remove_suffix(1);
        }
        if (stack.empty() || stack.back().name != local_name(name)) {
          return fail(error, "mismatched end tag </" + std::string(name) + ">");
        }
        pos_ = gt + 1;
        if (!close(stack, root)) return fail(error, "content after the root element");
      } else {
        const auto gt = find_tag_end(pos_);
        if (gt == std::string_view::npos) return fail(error, "unterminated start tag");
        const bool self_closing = d_[gt - 1] == '/';
        auto inner = d_.substr(pos_ + 1, gt - pos_ - 1 - (self_closing ? 1 : 0));
        const auto name_end = inner.find_first_of(" \t\r\n/");
        const auto name = inner.substr(0, name_end);
        if (name.empty()) return fail(error, "empty element name");
        if (root) return fail(error, "content after the root element");
        stack.push_back(xml_node{std::string(local_name(name)), {}, {}});
        pos_ = gt + 1;
        if (self_closing && !close(stack, root)) return fail(error, "content after the root element");
      }
    }
    if (!stack.empty()) return fail(error, "unclosed element <" + stack.back().name + ">");
    if (!root) return fail(error, "no root element");
    return root;
  }

 private:
  std::optional<xml_node> fail(std::string* error, const std::string& msg) {
    if (error != nullptr) *error = "XML at byte " + std::to_string(pos_) + ": " + msg;
    return std::nullopt;
  }
  bool skip_past(std::string_view end) {
    const auto e = d_.find(end, pos_);
    if (e == std::string_view::npos) return false;
    pos_ = e + end.size();
    return true;
  }
  // '>' outside quoted attribute values.
  std::size_t find_tag_end(std::size_t from) const {
    char quote = 0;
    for (std::size_t i = from; i < d_.size(); ++i) {
      const char c = d_[i];
      if (quote != 0) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        return i;
      }
    }
    return std::string_view::npos;
  }
  static bool close(std::vector<xml_node>& stack, std::optional<xml_node>& root) {
    xml_node done = std::move(stack.back());
    stack.pop_back();
    if (stack.empty()) {
      if (root) return false;
      root = std::move(done);
    } else {
      stack.back().children.push_back(std::move(done));
    }
    return true;
  }

  std::string_view d_;
  std::size_t pos_ = 0;
};

}  // namespace

const xml_node* xml_node::child(std::string_view n) const {
  for (const auto& c : children) {
    if (c.name == n) return &c;
  }
  return nullptr;
}

const xml_node* xml_node::path(std::string_view p) const {
  const xml_node* cur = this;
  while (cur != nullptr && !p.empty()) {
    const auto slash = p.find('/');
    cur = cur->child(p.substr(0, slash));
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  return cur;
}

const xml_node* xml_node::descendant(std::string_view n) const {
  for (const auto& c : children) {
    if (c.name == n) return &c;
    if (const auto* d = c.descendant(n)) return d;
  }
  return nullptr;
}

std::string xml_node::text_at(std::string_view p, const std::string& fallback) const {
  const auto* n = path(p);
  return n != nullptr ? n->text : fallback;
}

std::vector<const xml_node*> xml_node::all(std::string_view n) const {
  std::vector<const xml_node*> out;
  for (const auto& c : children) {
    if (c.name == n) out.push_back(&c);
  }
  return out;
}

std::optional<xml_node> parse_xml(std::string_view doc, std::string* error) {
  return parser(doc).run(error);
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace vigil::aws
