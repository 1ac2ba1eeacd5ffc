#pragma once
// The HTTP seam under every AWS call (docs/design.md, "I/O seams"): a request/response pair and
// a transport interface, so the client, the credential providers and their
// tests can substitute a fake. curl_transport is the production one.
//
// Paths and queries: `path` is the request path as it goes on the wire
// (callers build it with encode_path(); SigV4 encodes it once more for every
// service but S3). `query` holds raw, decoded names and values; they are
// percent-encoded (RFC 3986 unreserved set kept) when the URL is built and
// when the request is signed, so the two always agree.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::aws {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_request {
  std::string method = "GET";
  std::string scheme = "https";
  std::string host;  ///< host or host:port
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> query;
  header_list headers;
  std::string body;

  /// scheme://host/path?k=v&... (query encoded, in the given order)
  [[nodiscard]] std::string url() const;
  /// The first header with this name (case-insensitive), or nullptr.
  [[nodiscard]] const std::string* header(std::string_view name) const;
  void set_header(std::string_view name, std::string value);  ///< replaces every same-named header
  void remove_header(std::string_view name);
};

struct http_response {
  int status = 0;       ///< 0: no HTTP answer (see transport_error)
  header_list headers;  ///< names as received
  std::string body;
  std::string transport_error;  ///< libcurl's message when status == 0
  bool timed_out = false;       ///< the transport gave up on the deadline

  [[nodiscard]] const std::string* header(std::string_view name) const;
};

/// Sends one request. Never throws for network failures: they come back as
/// status 0 with transport_error set. Must be safe to call from several
/// threads at once (curl_transport uses one easy handle per call).
class http_transport {
 public:
  virtual ~http_transport() = default;
  [[nodiscard]] virtual http_response send(const http_request& req, std::chrono::milliseconds timeout) = 0;
};

struct curl_transport_options {
  std::size_t max_body_bytes = std::size_t{16} * 1024 * 1024;  ///< answers above this are cut and fail
  std::chrono::milliseconds connect_timeout{3000};
  std::string ca_file;  ///< extra CA bundle; TLS verification is always on
};

/// libcurl, one easy handle per call; honours http(s)_proxy/no_proxy.
[[nodiscard]] std::unique_ptr<http_transport> make_curl_transport(curl_transport_options options = {});

/// Percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ (and '/' when keep_slash).
[[nodiscard]] std::string uri_encode(std::string_view s, bool keep_slash = false);
/// Decodes %XX sequences; a malformed escape is kept literally.
[[nodiscard]] std::string uri_decode(std::string_view s);
/// Encodes a raw path for the wire, keeping '/'.
[[nodiscard]] std::string encode_path(std::string_view raw);
/// Splits "a=1&b&c=%20" into decoded pairs ("b" -> {"b", ""}).
[[nodiscard]] std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q);
/// Case-insensitive ASCII comparison.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b);
[[nodiscard]] std::string to_lower(std::string_view s);

/// scheme, host[:port] and path prefix of an endpoint URL ("http://127.0.0.1:5000/x").
struct endpoint_url {
  std::string scheme;
  std::string host;
  std::string base_path;  ///< without a trailing '/', usually empty
};
[[nodiscard]] bool parse_endpoint_url(std::string_view url, endpoint_url& out);

}  // namespace vigil::aws
