#pragma once
// Route 53 (REST-XML, API 2013-04-01): ChangeResourceRecordSets and GetChange.
// Its control plane lives in us-east-1: keep it out of the recovery path
// when an ARC routing control can do the job (docs/aws-notes.md, "RDS, ECS, SSM and Route 53 APIs").

#include <optional>
#include <string>
#include <vector>

#include "aws/client.hpp"

namespace vigil::aws {

struct alias_target {
  std::string hosted_zone_id;
  std::string dns_name;
  bool evaluate_target_health = false;
};

struct record_change {
  std::string action = "UPSERT";  ///< CREATE | DELETE | UPSERT
  std::string name;
  std::string type = "CNAME";
  std::optional<int> ttl;
  std::vector<std::string> values;
  std::string set_identifier;
  std::optional<int> weight;
  std::string failover;  ///< PRIMARY | SECONDARY
  std::optional<alias_target> alias;
  std::string health_check_id;
};

struct change_info {
  std::string id;      ///< "/change/C2682N5HXP0BZ4" as AWS returns it
  std::string status;  ///< PENDING | INSYNC
  std::string submitted_at;
};

/// The request body, exposed for tests.
[[nodiscard]] std::string change_batch_xml(const std::vector<record_change>& changes, const std::string& comment);

[[nodiscard]] result<change_info> change_resource_record_sets(client& c, const std::string& hosted_zone_id,
                                                              const std::vector<record_change>& changes,
                                                              const std::string& comment = {});
[[nodiscard]] result<change_info> get_change(client& c, const std::string& change_id);

/// GetHostedZone: the zone's name ("shop.example."); NoSuchHostedZone when it is gone.
[[nodiscard]] result<std::string> get_hosted_zone(client& c, const std::string& hosted_zone_id);
/// ListResourceRecordSets from (name, type), one record: whether a record
/// set of exactly that name and type exists (names compared without the
/// trailing dot, case-insensitively).
[[nodiscard]] result<bool> record_exists(client& c, const std::string& hosted_zone_id, const std::string& name,
                                         const std::string& type);

}  // namespace vigil::aws
