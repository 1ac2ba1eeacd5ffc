#include "detector/expect.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include "common/duration.hpp"

namespace vigil::detector {

namespace {

using decision::outcome;

enum class tok : std::uint8_t { end, ident, string, number, punct, error };

struct token {
  tok kind = tok::end;
  std::string text;  ///< ident name, unescaped string, number spelling (with unit), punctuation
  int column = 1;
};

bool is_ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || std::isdigit(static_cast<unsigned char>(c)) != 0;
}
bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

std::string describe(const token& t) {
  switch (t.kind) {
    case tok::end:
      return "end of expression";
    case tok::string:
      return "string \"" + t.text + "\"";
    default:
      return "'" + t.text + "'";
  }
}

/// Splits an expression into tokens. A lexical error becomes a final `error`
/// token, so that a parse error earlier in the expression is reported first.
std::vector<token> lex(std::string_view s) {
  std::vector<token> out;
  std::size_t i = 0;
  auto col = [](std::size_t pos) { return static_cast<int>(pos) + 1; };
  auto lex_error = [&out, &s, &col](expect_error e) {
    out.push_back(token{tok::error, std::move(e.message), e.column});
    out.push_back(token{tok::end, "", col(s.size())});
    return out;
  };
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t') {
      ++i;
      continue;
    }
    token t;
    t.column = col(i);
    if (is_ident_start(c)) {
      t.kind = tok::ident;
      while (i < s.size() && is_ident_char(s[i]))
        t.text += s[i++];
    } else if (is_digit(c) || (c == '-' && i + 1 < s.size() && is_digit(s[i + 1]))) {
      t.kind = tok::number;
      t.text += s[i++];
      while (i < s.size() && (is_digit(s[i]) || s[i] == '.' || std::isalpha(static_cast<unsigned char>(s[i])) != 0)) {
        t.text += s[i++];
      }
    } else if (c == '"') {
      t.kind = tok::string;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        const char d = s[i++];
        if (d == '"') {
          closed = true;
          break;
        }
        if (d == '\\') {
          if (i >= s.size()) break;
          const char e = s[i++];
          switch (e) {
            case '"':
            case '\\':
            case '/':
              t.text += e;
              break;
            case 'n':
              t.text += '\n';
              break;
            case 't':
              t.text += '\t';
              break;
            default:
              return lex_error(expect_error{col(i - 2), std::string("unknown escape \\") + e});
          }
          continue;
        }
        t.text += d;
      }
      if (!closed) return lex_error(expect_error{t.column, "unterminated string"});
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      t.kind = tok::punct;
      t.text += c;
      ++i;
      if (i < s.size() && s[i] == '=') t.text += s[i++];
      if (t.text == "=" || t.text == "!") {
        return lex_error(expect_error{t.column, "'" + t.text + "' is not an operator (use == or !=)"});
      }
    } else if (c == '(' || c == ')' || c == '[' || c == ']' || c == ',' || c == '.') {
      t.kind = tok::punct;
      t.text = std::string(1, c);
      ++i;
    } else {
      return lex_error(expect_error{t.column, std::string("unexpected character '") + c + "'"});
    }
    out.push_back(std::move(t));
  }
  out.push_back(token{tok::end, "", col(s.size())});
  return out;
}

class parser {
 public:
  explicit parser(std::vector<token> toks) : toks_(std::move(toks)) {}

  std::variant<expectation, expect_error> run(std::string_view source) {
    expectation e;
    e.source = std::string(source);
    if (auto err = subject(e)) return *err;
    const token op_tok = peek();
    if (auto err = op(e)) return *err;
    if (auto err = check_op(e, op_tok)) return *err;
    if (auto err = value(e)) return *err;
    if (e.subject == expect_subject::cert_expiry) e.severity = expect_severity::warn;
    if (peek().kind == tok::ident && (peek().text == "warn" || peek().text == "fail")) {
      const token sev = next();
      const bool may_warn = e.subject == expect_subject::latency || e.subject == expect_subject::cert_expiry;
      if (sev.text == "warn" && !may_warn) {
        return expect_error{sev.column, "only latency and cert_expiry expectations can be 'warn'"};
      }
      e.severity = sev.text == "warn" ? expect_severity::warn : expect_severity::fail;
    }
    if (peek().kind != tok::end) {
      if (peek().kind == tok::error) return unexpected(peek(), "");
      return expect_error{peek().column, "unexpected " + describe(peek()) + " after the value"};
    }
    return e;
  }

 private:
  const token& peek() const { return toks_[pos_]; }
  /// "expected X, found Y" at t, unless t is a lexical error: that is reported as is.
  static expect_error unexpected(const token& t, const std::string& expected) {
    if (t.kind == tok::error) return expect_error{t.column, t.text};
    return expect_error{t.column, expected + ", found " + describe(t)};
  }
  const token& next() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }
  bool accept_punct(std::string_view p) {
    if (peek().kind == tok::punct && peek().text == p) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::optional<expect_error> expect_punct(std::string_view p) {
    if (accept_punct(p)) return std::nullopt;
    return unexpected(peek(), "expected '" + std::string(p) + "'");
  }
  std::optional<expect_error> string_arg(std::string& out, int& column) {
    if (auto err = expect_punct("(")) return err;
    column = peek().column;
    if (peek().kind != tok::string) {
      return unexpected(peek(), "expected a quoted string");
    }
    out = next().text;
    return expect_punct(")");
  }

  std::optional<expect_error> subject(expectation& e) {
    const token t = next();
    if (t.kind != tok::ident) {
      return unexpected(t, "expected a subject (status, body, body.json(...), header(...), latency, cert_expiry)");
    }
    if (t.text == "status") {
      e.subject = expect_subject::status;
    } else if (t.text == "latency") {
      e.subject = expect_subject::latency;
    } else if (t.text == "cert_expiry") {
      e.subject = expect_subject::cert_expiry;
    } else if (t.text == "header") {
      e.subject = expect_subject::header;
      int arg_col = 0;
      if (auto err = string_arg(e.argument, arg_col)) return err;
      if (e.argument.empty()) return expect_error{arg_col, "header name is empty"};
      std::transform(e.argument.begin(), e.argument.end(), e.argument.begin(),
                     [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    } else if (t.text == "body") {
      e.subject = expect_subject::body;
      if (accept_punct(".")) {
        const token j = next();
        if (j.kind != tok::ident || j.text != "json") {
          return unexpected(j, "expected 'json' after 'body.'");
        }
        e.subject = expect_subject::json;
        int arg_col = 0;
        if (auto err = string_arg(e.argument, arg_col)) return err;
        try {
          e.pointer = nlohmann::json::json_pointer(e.argument);
        } catch (const nlohmann::json::exception& ex) {
          return expect_error{arg_col,
                              "bad JSON pointer \"" + e.argument + "\" (use \"\" or \"/a/0/b\"): " + ex.what()};
        }
      }
    } else {
      return expect_error{t.column, "unknown subject '" + t.text +
                                        "' (expected status, body, body.json(...), header(...), "
                                        "latency or cert_expiry)"};
    }
    return std::nullopt;
  }

  std::optional<expect_error> op(expectation& e) {
    const token t = next();
    static constexpr std::array<std::pair<std::string_view, expect_op>, 6> puncts{{{"==", expect_op::eq},
                                                                                   {"!=", expect_op::ne},
                                                                                   {"<", expect_op::lt},
                                                                                   {"<=", expect_op::le},
                                                                                   {">", expect_op::gt},
                                                                                   {">=", expect_op::ge}}};
    if (t.kind == tok::punct) {
      for (const auto& [spelling, o] : puncts) {
        if (t.text == spelling) {
          e.op = o;
          return std::nullopt;
        }
      }
    }
    if (t.kind == tok::ident) {
      if (t.text == "in") {
        e.op = expect_op::in;
        return std::nullopt;
      }
      if (t.text == "contains") {
        e.op = expect_op::contains;
        return std::nullopt;
      }
      if (t.text == "not") {
        const token u = next();
        if (u.kind == tok::ident && u.text == "in") {
          e.op = expect_op::not_in;
          return std::nullopt;
        }
        if (u.kind == tok::ident && u.text == "contains") {
          e.op = expect_op::not_contains;
          return std::nullopt;
        }
        return unexpected(u, "expected 'in' or 'contains' after 'not'");
      }
    }
    return unexpected(t, "expected an operator (==, !=, <, <=, >, >=, in, not in, contains, not contains)");
  }

  static std::optional<expect_error> check_op(const expectation& e, const token& at) {
    using enum expect_op;
    const expect_op o = e.op;
    bool ok = false;
    switch (e.subject) {
      case expect_subject::status:
        ok = o != contains && o != not_contains;
        break;
      case expect_subject::body:
      case expect_subject::header:
        ok = o == eq || o == ne || o == contains || o == not_contains;
        break;
      case expect_subject::json:
        ok = o != in && o != not_in;
        break;
      case expect_subject::latency:
      case expect_subject::cert_expiry:
        ok = o == lt || o == le || o == gt || o == ge;
        break;
    }
    if (ok) return std::nullopt;
    return expect_error{at.column, "operator '" + std::string(to_string(o)) + "' does not apply to " +
                                       std::string(to_string(e.subject))};
  }

  std::optional<expect_error> status_code(const token& t, std::int64_t& out) {
    std::int64_t v = 0;
    const auto* first = t.text.data();
    const auto* last = first + t.text.size();
    const auto [p, ec] = std::from_chars(first, last, v);
    if (t.kind != tok::number || ec != std::errc{} || p != last) {
      return unexpected(t, "expected an HTTP status code");
    }
    if (v < 100 || v > 599) return expect_error{t.column, "status " + t.text + " is outside 100..599"};
    out = v;
    return std::nullopt;
  }

  std::optional<expect_error> value(expectation& e) {
    switch (e.subject) {
      case expect_subject::status: {
        if (e.op == expect_op::in || e.op == expect_op::not_in) {
          if (auto err = expect_punct("[")) return err;
          do {
            std::int64_t v = 0;
            if (auto err = status_code(next(), v)) return err;
            e.numbers.push_back(v);
          } while (accept_punct(","));
          return expect_punct("]");
        }
        std::int64_t v = 0;
        if (auto err = status_code(next(), v)) return err;
        e.numbers.push_back(v);
        return std::nullopt;
      }
      case expect_subject::body:
      case expect_subject::header: {
        const token t = next();
        if (t.kind != tok::string) return unexpected(t, "expected a quoted string");
        e.text = t.text;
        return std::nullopt;
      }
      case expect_subject::latency:
      case expect_subject::cert_expiry: {
        const token t = next();
        const auto d = t.kind == tok::number ? common::parse_duration(t.text) : std::nullopt;
        if (!d) {
          return unexpected(t, "expected a duration such as 300ms, 2s or 7d");
        }
        e.span = *d;
        return std::nullopt;
      }
      case expect_subject::json:
        return json_literal(e);
    }
    return std::nullopt;
  }

  std::optional<expect_error> json_literal(expectation& e) {
    const token t = next();
    if (t.kind == tok::string) {
      e.literal = t.text;
    } else if (t.kind == tok::ident && (t.text == "true" || t.text == "false" || t.text == "null")) {
      e.literal = nlohmann::json::parse(t.text);
    } else if (t.kind == tok::number) {
      e.literal = nlohmann::json::parse(t.text, nullptr, false);
      if (e.literal.is_discarded()) return expect_error{t.column, "bad number " + t.text};
    } else {
      return unexpected(t, "expected a JSON value (\"text\", number, true, false, null)");
    }
    const bool ordering =
        e.op == expect_op::lt || e.op == expect_op::le || e.op == expect_op::gt || e.op == expect_op::ge;
    if (ordering && !e.literal.is_number()) {
      return expect_error{t.column, "ordering operators compare numbers, found " + describe(t)};
    }
    return std::nullopt;
  }

  std::vector<token> toks_;
  std::size_t pos_ = 0;
};

template <typename T>
bool compare(expect_op op, const T& a, const T& b) {
  switch (op) {
    case expect_op::eq:
      return a == b;
    case expect_op::ne:
      return a != b;
    case expect_op::lt:
      return a < b;
    case expect_op::le:
      return a <= b;
    case expect_op::gt:
      return a > b;
    case expect_op::ge:
      return a >= b;
    default:
      return false;
  }
}

std::string clip(std::string_view s, std::size_t n = 80) {
  if (s.size() <= n) return std::string(s);
  return std::string(s.substr(0, n)) + "...";
}

struct failure {
  outcome result;
  std::string detail;
};

/// Evaluation of one expectation; nullopt when it holds.
class evaluator {
 public:
  explicit evaluator(const response_view& r) : r_(r) {}

  std::optional<failure> operator()(const expectation& e) {
    switch (e.subject) {
      case expect_subject::status:
        return status(e);
      case expect_subject::body:
        return text(e, r_.body, "body", outcome::body_mismatch);
      case expect_subject::header:
        return header(e);
      case expect_subject::json:
        return json(e);
      case expect_subject::latency:
        if (compare(e.op, r_.latency.count(), e.span.count())) return std::nullopt;
        return failure{outcome::timeout, e.source + ": latency was " + std::to_string(r_.latency.count()) + "ms"};
      case expect_subject::cert_expiry: {
        if (!r_.cert_left) return failure{outcome::internal, e.source + ": no server certificate was seen"};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*r_.cert_left);
        if (compare(e.op, left.count(), e.span.count())) return std::nullopt;
        return failure{outcome::cert_expiring,
                       e.source + ": certificate expires in " + std::to_string(r_.cert_left->count()) + "s"};
      }
    }
    return std::nullopt;
  }

 private:
  std::optional<failure> status(const expectation& e) const {
    const auto s = static_cast<std::int64_t>(r_.status);
    bool ok = false;
    if (e.op == expect_op::in || e.op == expect_op::not_in) {
      const bool found = std::find(e.numbers.begin(), e.numbers.end(), s) != e.numbers.end();
      ok = (e.op == expect_op::in) == found;
    } else {
      ok = compare(e.op, s, e.numbers.front());
    }
    if (ok) return std::nullopt;
    return failure{outcome::http_status, e.source + ": status was " + std::to_string(s)};
  }

  static std::optional<failure> text(const expectation& e, std::string_view seen, std::string_view what,
                                     outcome on_fail) {
    bool ok = false;
    switch (e.op) {
      case expect_op::eq:
        ok = seen == e.text;
        break;
      case expect_op::ne:
        ok = seen != e.text;
        break;
      case expect_op::contains:
        ok = seen.find(e.text) != std::string_view::npos;
        break;
      case expect_op::not_contains:
        ok = seen.find(e.text) == std::string_view::npos;
        break;
      default:
        break;
    }
    if (ok) return std::nullopt;
    return failure{on_fail, e.source + ": " + std::string(what) + " was \"" + clip(seen) + "\""};
  }

  std::optional<failure> header(const expectation& e) const {
    std::string joined;
    bool present = false;
    if (r_.headers != nullptr) {
      const auto [lo, hi] = r_.headers->equal_range(e.argument);
      for (auto it = lo; it != hi; ++it) {
        if (present) joined += ", ";
        joined += it->second;
        present = true;
      }
    }
    if (!present) {
      if (e.op == expect_op::ne || e.op == expect_op::not_contains) return std::nullopt;
      return failure{outcome::body_mismatch, e.source + ": header absent"};
    }
    return text(e, joined, "header", outcome::body_mismatch);
  }

  std::optional<failure> json(const expectation& e) {
    if (!parsed_) {
      parsed_ = nlohmann::json::parse(r_.body.begin(), r_.body.end(), nullptr, false);
    }
    if (parsed_->is_discarded()) return failure{outcome::body_mismatch, e.source + ": body is not JSON"};
    if (!parsed_->contains(e.pointer)) {
      return failure{outcome::body_mismatch, e.source + ": no value at " + e.argument};
    }
    const nlohmann::json& v = parsed_->at(e.pointer);
    bool ok = false;
    switch (e.op) {
      case expect_op::eq:
        ok = v == e.literal;
        break;
      case expect_op::ne:
        ok = v != e.literal;
        break;
      case expect_op::contains:
      case expect_op::not_contains: {
        bool found = false;
        if (v.is_string() && e.literal.is_string()) {
          found = v.get_ref<const std::string&>().find(e.literal.get_ref<const std::string&>()) != std::string::npos;
        } else if (v.is_array()) {
          found = std::find(v.begin(), v.end(), e.literal) != v.end();
        }
        ok = (e.op == expect_op::contains) == found;
        break;
      }
      default:
        ok = v.is_number() && compare(e.op, v.get<double>(), e.literal.get<double>());
        break;
    }
    if (ok) return std::nullopt;
    return failure{outcome::body_mismatch, e.source + ": got " + clip(v.dump())};
  }

  const response_view& r_;
  std::optional<nlohmann::json> parsed_;
};

/// Rank of a failed expectation: the lowest rank decides the outcome.
int rank(expect_subject s) {
  switch (s) {
    case expect_subject::status:
      return 0;
    case expect_subject::body:
    case expect_subject::header:
    case expect_subject::json:
      return 1;
    case expect_subject::latency:
      return 2;
    case expect_subject::cert_expiry:
      return 3;
  }
  return 4;
}

}  // namespace

std::string_view to_string(expect_subject s) {
  switch (s) {
    case expect_subject::status:
      return "status";
    case expect_subject::body:
      return "body";
    case expect_subject::json:
      return "body.json";
    case expect_subject::header:
      return "header";
    case expect_subject::latency:
      return "latency";
    case expect_subject::cert_expiry:
      return "cert_expiry";
  }
  return "?";
}

std::string_view to_string(expect_op o) {
  switch (o) {
    case expect_op::eq:
      return "==";
    case expect_op::ne:
      return "!=";
    case expect_op::lt:
      return "<";
    case expect_op::le:
      return "<=";
    case expect_op::gt:
      return ">";
    case expect_op::ge:
      return ">=";
    case expect_op::in:
      return "in";
    case expect_op::not_in:
      return "not in";
    case expect_op::contains:
      return "contains";
    case expect_op::not_contains:
      return "not contains";
  }
  return "?";
}

std::variant<expectation, expect_error> parse_expect(std::string_view text) {
  parser p(lex(text));
  return p.run(text);
}

expect_set::expect_set(std::vector<expectation> items) : items_(std::move(items)) {
  for (const auto& e : items_) {
    has_status_ = has_status_ || e.subject == expect_subject::status;
    needs_body_ = needs_body_ || e.subject == expect_subject::body || e.subject == expect_subject::json;
    needs_headers_ = needs_headers_ || e.subject == expect_subject::header;
    needs_cert_ = needs_cert_ || e.subject == expect_subject::cert_expiry;
    warns_ = warns_ || e.severity == expect_severity::warn;
  }
}

expect_verdict expect_set::evaluate(const response_view& r) const {
  std::optional<failure> worst;
  std::optional<failure> warned;
  int worst_rank = 0;
  int failed = 0;
  if (!has_status_ && (r.status < 200 || r.status >= 400)) {
    worst = failure{outcome::http_status, "status " + std::to_string(r.status) + " (expected 2xx or 3xx)"};
    failed = 1;
  }
  evaluator eval(r);
  for (const auto& e : items_) {
    auto f = eval(e);
    if (!f) continue;
    if (e.severity == expect_severity::warn && f->result != outcome::internal) {
      if (!warned) warned = std::move(f);
      continue;
    }
    ++failed;
    const int k = rank(e.subject);
    if (!worst || k < worst_rank) {
      worst = std::move(f);
      worst_rank = k;
    }
  }
  if (!worst && warned) return {outcome::degraded, warned->detail + " (warn)", warned->result};
  if (!worst) return {};
  if (failed > 1) worst->detail += " (+" + std::to_string(failed - 1) + " more failed)";
  return {worst->result, std::move(worst->detail)};
}

}  // namespace vigil::detector
