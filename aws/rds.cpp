#include "aws/rds.hpp"

#include <functional>

namespace vigil::aws {
namespace {

constexpr std::string_view version = "2014-10-31";

using params = std::vector<std::pair<std::string, std::string>>;

std::vector<std::string> member_texts(const xml_node* list, std::string_view item) {
  std::vector<std::string> out;
  if (list == nullptr) return out;
  for (const auto* m : list->all(item))
    out.push_back(m->text);
  return out;
}

global_cluster parse_global(const xml_node& g) {
  global_cluster out;
  out.identifier = g.text_at("GlobalClusterIdentifier");
  out.arn = g.text_at("GlobalClusterArn");
  out.status = g.text_at("Status");
  out.engine = g.text_at("Engine");
  out.engine_version = g.text_at("EngineVersion");
  if (const auto* ms = g.child("GlobalClusterMembers")) {
    for (const auto* m : ms->all("GlobalClusterMember")) {
      out.members.push_back({m->text_at("DBClusterArn"), m->text_at("IsWriter") == "true",
                             member_texts(m->child("Readers"), "member"), m->text_at("SynchronizationStatus")});
    }
  }
  if (const auto* f = g.child("FailoverState")) {
    out.failover_state = global_failover_state{f->text_at("Status"), f->text_at("FromDbClusterArn"),
                                               f->text_at("ToDbClusterArn"), f->text_at("IsDataLossAllowed") == "true"};
  }
  return out;
}

// A 2xx means the action was accepted; AWS echoes the global cluster, but an
// answer without it (moto's RemoveFromGlobalCluster) must not turn an action
// that happened into a failure, so fall back to the identifier alone.
result<global_cluster> single_global(result<xml_node> doc, std::string_view result_name, const std::string& id) {
  if (!doc) return doc.error();
  const auto* r = doc->descendant(result_name);
  const auto* g = r != nullptr ? r->child("GlobalCluster") : nullptr;
  if (g == nullptr) {
    global_cluster out;
    out.identifier = id;
    return out;
  }
  return parse_global(*g);
}

}  // namespace

namespace {

// Runs a Describe* action page by page (Marker), handing each result element to `each`.
result<none> for_each_page(client& c, const std::string& region, std::string_view action, const params& base,
                           const std::function<void(const xml_node&)>& each) {
  const std::string result_name = std::string(action) + "Result";
  std::string marker;
  for (int page = 0; page < 50; ++page) {
    params p = base;
    if (!marker.empty()) p.emplace_back("Marker", marker);
    auto doc = c.query(service::rds, region, action, version, p);
    if (!doc) return doc.error();
    const auto* r = doc->descendant(result_name);
    if (r == nullptr) return make_error("MalformedResponse", std::string(action) + ": no result");
    each(*r);
    marker = r->text_at("Marker");
    if (marker.empty()) break;
  }
  return none{};
}

}  // namespace

result<std::vector<global_cluster>> describe_global_clusters(client& c, const std::string& region,
                                                             const std::string& global_cluster_id) {
  std::vector<global_cluster> out;
  params p;
  if (!global_cluster_id.empty()) p.emplace_back("GlobalClusterIdentifier", global_cluster_id);
  auto r = for_each_page(c, region, "DescribeGlobalClusters", p, [&](const xml_node& res) {
    if (const auto* list = res.child("GlobalClusters")) {
      // The API names list items GlobalClusterMember; accept GlobalCluster too.
      for (const auto* g : list->all("GlobalClusterMember"))
        out.push_back(parse_global(*g));
      for (const auto* g : list->all("GlobalCluster"))
        out.push_back(parse_global(*g));
    }
  });
  if (!r) return r.error();
  return out;
}

result<std::vector<db_cluster>> describe_db_clusters(client& c, const std::string& region,
                                                     const std::string& db_cluster_id) {
  std::vector<db_cluster> out;
  params p;
  if (!db_cluster_id.empty()) p.emplace_back("DBClusterIdentifier", db_cluster_id);
  auto r = for_each_page(c, region, "DescribeDBClusters", p, [&](const xml_node& res) {
    const auto* list = res.child("DBClusters");
    if (list == nullptr) return;
    for (const auto* d : list->all("DBCluster")) {
      db_cluster dc{d->text_at("DBClusterIdentifier"),
                    d->text_at("DBClusterArn"),
                    d->text_at("Status"),
                    d->text_at("Engine"),
                    d->text_at("EngineVersion"),
                    d->text_at("Endpoint"),
                    d->text_at("ReaderEndpoint"),
                    {},
                    {}};
      if (const auto* ms = d->child("DBClusterMembers")) {
        for (const auto* m : ms->all("DBClusterMember")) {
          (m->text_at("IsClusterWriter") == "true" ? dc.writer_instances : dc.reader_instances)
              .push_back(m->text_at("DBInstanceIdentifier"));
        }
      }
      out.push_back(std::move(dc));
    }
  });
  if (!r) return r.error();
  return out;
}

result<global_cluster> failover_global_cluster(client& c, const std::string& region,
                                               const failover_global_cluster_request& r) {
  params p{{"GlobalClusterIdentifier", r.global_cluster_id}, {"TargetDbClusterIdentifier", r.target_db_cluster}};
  if (r.allow_data_loss) p.emplace_back("AllowDataLoss", "true");
  if (r.switchover) p.emplace_back("Switchover", "true");
  return single_global(c.query(service::rds, region, "FailoverGlobalCluster", version, p),
                       "FailoverGlobalClusterResult", r.global_cluster_id);
}

result<global_cluster> switchover_global_cluster(client& c, const std::string& region,
                                                 const std::string& global_cluster_id,
                                                 const std::string& target_db_cluster) {
  params p{{"GlobalClusterIdentifier", global_cluster_id}, {"TargetDbClusterIdentifier", target_db_cluster}};
  return single_global(c.query(service::rds, region, "SwitchoverGlobalCluster", version, p),
                       "SwitchoverGlobalClusterResult", global_cluster_id);
}

result<global_cluster> remove_from_global_cluster(client& c, const std::string& region,
                                                  const std::string& global_cluster_id,
                                                  const std::string& db_cluster_arn) {
  params p{{"GlobalClusterIdentifier", global_cluster_id}, {"DbClusterIdentifier", db_cluster_arn}};
  return single_global(c.query(service::rds, region, "RemoveFromGlobalCluster", version, p),
                       "RemoveFromGlobalClusterResult", global_cluster_id);
}

}  // namespace vigil::aws
