#include "aws/route53.hpp"

#include <cctype>

namespace vigil::aws {
namespace {

// "/hostedzone/Z123" and "Z123" both name a zone.
std::string bare_id(const std::string& id) {
  const auto slash = id.rfind('/');
  return slash == std::string::npos ? id : id.substr(slash + 1);
}

result<change_info> parse_change(result<xml_node> doc) {
  if (!doc) return doc.error();
  const auto* ci = doc->name == "ChangeInfo" ? &*doc : doc->descendant("ChangeInfo");
  if (ci == nullptr) return make_error("MalformedResponse", "Route 53: no ChangeInfo");
  return change_info{ci->text_at("Id"), ci->text_at("Status"), ci->text_at("SubmittedAt")};
}

}  // namespace

std::string change_batch_xml(const std::vector<record_change>& changes, const std::string& comment) {
  std::string x = R"(<?xml version="1.0" encoding="UTF-8"?>)"
                  R"(<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">)"
                  "<ChangeBatch>";
  if (!comment.empty()) x += "<Comment>" + xml_escape(comment) + "</Comment>";
  x += "<Changes>";
  for (const auto& ch : changes) {
    x += "<Change><Action>" + xml_escape(ch.action) + "</Action><ResourceRecordSet>";
    x += "<Name>" + xml_escape(ch.name) + "</Name><Type>" + xml_escape(ch.type) + "</Type>";
    if (!ch.set_identifier.empty()) x += "<SetIdentifier>" + xml_escape(ch.set_identifier) + "</SetIdentifier>";
    if (ch.weight) x += "<Weight>" + std::to_string(*ch.weight) + "</Weight>";
    if (!ch.failover.empty()) x += "<Failover>" + xml_escape(ch.failover) + "</Failover>";
    if (ch.alias) {
      x += "<AliasTarget><HostedZoneId>" + xml_escape(ch.alias->hosted_zone_id) + "</HostedZoneId><DNSName>" +
           xml_escape(ch.alias->dns_name) + "</DNSName><EvaluateTargetHealth>" +
           (ch.alias->evaluate_target_health ? "true" : "false") + "</EvaluateTargetHealth></AliasTarget>";
    } else {
      if (ch.ttl) x += "<TTL>" + std::to_string(*ch.ttl) + "</TTL>";
      x += "<ResourceRecords>";
      for (const auto& v : ch.values)
        x += "<ResourceRecord><Value>" + xml_escape(v) + "</Value></ResourceRecord>";
      x += "</ResourceRecords>";
    }
    if (!ch.health_check_id.empty()) x += "<HealthCheckId>" + xml_escape(ch.health_check_id) + "</HealthCheckId>";
    x += "</ResourceRecordSet></Change>";
  }
  x += "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>";
  return x;
}

result<change_info> change_resource_record_sets(client& c, const std::string& hosted_zone_id,
                                                const std::vector<record_change>& changes, const std::string& comment) {
  const std::string path = "/2013-04-01/hostedzone/" + uri_encode(bare_id(hosted_zone_id)) + "/rrset/";
  return parse_change(c.rest_xml(service::route53, "us-east-1", "POST", path, {}, change_batch_xml(changes, comment)));
}

result<change_info> get_change(client& c, const std::string& change_id) {
  const std::string path = "/2013-04-01/change/" + uri_encode(bare_id(change_id));
  return parse_change(c.rest_xml(service::route53, "us-east-1", "GET", path, {}, {}));
}

result<std::string> get_hosted_zone(client& c, const std::string& hosted_zone_id) {
  auto doc = c.rest_xml(service::route53, "us-east-1", "GET",
                        "/2013-04-01/hostedzone/" + uri_encode(bare_id(hosted_zone_id)), {}, {});
  if (!doc) return doc.error();
  const auto* z = doc->name == "HostedZone" ? &*doc : doc->descendant("HostedZone");
  if (z == nullptr) return make_error("MalformedResponse", "GetHostedZone: no HostedZone");
  return z->text_at("Name");
}

namespace {
std::string dns_key(std::string n) {
  if (!n.empty() && n.back() == '.') n.pop_back();
  for (auto& ch : n)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return n;
}
}  // namespace

result<bool> record_exists(client& c, const std::string& hosted_zone_id, const std::string& name,
                           const std::string& type) {
  auto doc = c.rest_xml(service::route53, "us-east-1", "GET",
                        "/2013-04-01/hostedzone/" + uri_encode(bare_id(hosted_zone_id)) + "/rrset",
                        {{"name", name}, {"type", type}, {"maxitems", "1"}}, {});
  if (!doc) return doc.error();
  const auto* sets = doc->descendant("ResourceRecordSets");
  if (sets == nullptr) return false;
  for (const auto* r : sets->all("ResourceRecordSet")) {
    if (dns_key(r->text_at("Name")) == dns_key(name) && r->text_at("Type") == type) return true;
  }
  return false;
}

}  // namespace vigil::aws
