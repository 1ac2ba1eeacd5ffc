#pragma once
// RDS (query protocol, version 2014-10-31): the Aurora global database calls
// the failover plan and the lag gate use.

#include <optional>
#include <string>
#include <vector>

#include "aws/client.hpp"

namespace vigil::aws {

struct global_cluster_member {
  std::string db_cluster_arn;
  bool is_writer = false;
  std::vector<std::string> readers;
  std::string synchronization_status;
};

struct global_failover_state {
  std::string status;  ///< pending | failing-over | cancelling
  std::string from_db_cluster_arn;
  std::string to_db_cluster_arn;
  bool is_data_loss_allowed = false;
};

struct global_cluster {
  std::string identifier;
  std::string arn;
  std::string status;
  std::string engine;
  std::string engine_version;
  std::vector<global_cluster_member> members;
  std::optional<global_failover_state> failover_state;
};

struct db_cluster {
  std::string identifier;
  std::string arn;
  std::string status;
  std::string engine;
  std::string engine_version;
  std::string endpoint;
  std::string reader_endpoint;
  std::vector<std::string> writer_instances;
  std::vector<std::string> reader_instances;
};

[[nodiscard]] result<std::vector<global_cluster>> describe_global_clusters(client& c, const std::string& region,
                                                                           const std::string& global_cluster_id = {});
[[nodiscard]] result<std::vector<db_cluster>> describe_db_clusters(client& c, const std::string& region,
                                                                   const std::string& db_cluster_id = {});

struct failover_global_cluster_request {
  std::string global_cluster_id;
  std::string target_db_cluster;  ///< ARN (or identifier) of the secondary to promote
  bool allow_data_loss = false;   ///< the unplanned path (the primary region is gone)
  bool switchover = false;        ///< the planned path (no data loss, both regions up)
};
[[nodiscard]] result<global_cluster> failover_global_cluster(client& c, const std::string& region,
                                                             const failover_global_cluster_request& r);
[[nodiscard]] result<global_cluster> switchover_global_cluster(client& c, const std::string& region,
                                                               const std::string& global_cluster_id,
                                                               const std::string& target_db_cluster);
[[nodiscard]] result<global_cluster> remove_from_global_cluster(client& c, const std::string& region,
                                                                const std::string& global_cluster_id,
                                                                const std::string& db_cluster_arn);

}  // namespace vigil::aws
