// The readiness items (actuators/readiness.hpp): read-only calls only, each
// through the client the caller gives (the readiness loop's own, with its
// own timeout and one retry), never a mutating one.
#include "actuators/readiness.hpp"

#include <algorithm>
#include <ctime>
#include <initializer_list>
#include <map>
#include <regex>
#include <set>
#include <string_view>

#include "actuators/plan_steps.hpp"
#include "actuators/step_iam.hpp"
#include "aws/application_autoscaling.hpp"
#include "aws/arc.hpp"
#include "aws/ecs_ssm.hpp"
#include "aws/iam.hpp"
#include "aws/rds.hpp"
#include "aws/route53.hpp"
#include "detector/curl_easy.hpp"

namespace vigil::actuators {

using nlohmann::json;
using namespace std::chrono_literals;

std::string_view to_string(item_state s) {
  switch (s) {
    case item_state::ok:
      return "ok";
    case item_state::failed:
      return "failed";
    case item_state::unknown:
      break;
  }
  return "unknown";
}

std::string task_family(const std::string& td) {
  std::string s = td;
  if (const auto slash = s.rfind('/'); slash != std::string::npos) s = s.substr(slash + 1);
  if (const auto colon = s.rfind(':'); colon != std::string::npos) s = s.substr(0, colon);
  return s;
}

std::string major_version(const std::string& v) {
  return v.substr(0, v.find('.'));
}

namespace {

/// Joins its pieces into one string (one allocation; the item details are
/// built in loops).
std::string cat(std::initializer_list<std::string_view> parts) {
  std::size_t n = 0;
  for (const auto p : parts)
    n += p.size();
  std::string out;
  out.reserve(n);
  for (const auto p : parts)
    out.append(p);
  return out;
}

bool names(const std::string& arn, const std::string& target) {
  if (arn == target) return true;
  const std::string tail = ":cluster:" + target;
  return arn.size() > tail.size() && arn.compare(arn.size() - tail.size(), tail.size(), tail) == 0;
}

/// Field `n` of an ARN (arn:partition:service:region:account:...): 3 is the
/// region, 4 the account; "" when absent.
std::string arn_field(const std::string& arn, int n) {
  if (!arn.starts_with("arn:")) return {};
  std::size_t pos = 0;
  for (int i = 0; i < n; ++i) {
    pos = arn.find(':', pos);
    if (pos == std::string::npos) return {};
    ++pos;
  }
  const auto end = arn.find(':', pos);
  return end == std::string::npos ? std::string{} : arn.substr(pos, end - pos);
}
std::string arn_region(const std::string& arn) {
  return arn_field(arn, 3);
}
std::string arn_account(const std::string& arn) {
  return arn_field(arn, 4);
}

const std::set<std::string>& aws_kinds() {
  static const std::set<std::string> k{"arc_routing_control", "aurora_global_failover", "aurora_switchover",
                                       "aurora_detach",       "wait_db_cluster",        "ecs_scale",
                                       "route53_upsert",      "ssm_parameter"};
  return k;
}

class prober {
 public:
  explicit prober(const readiness_request& r) : r_(r) {}

  std::vector<readiness_item> run() {
    const auto& steps = r_.plan->steps;
    for (const auto& s : steps) {
      if (aws_kinds().contains(s.kind)) precheck(s);
    }
    bool first_aurora = true;
    for (const auto& s : steps) {
      if (s.kind == "aurora_global_failover" || s.kind == "aurora_switchover") {
        aurora(s, first_aurora ? "aurora." : "aurora." + s.name + ".");
        first_aurora = false;
      } else if (s.kind == "ecs_scale") {
        ecs(s);
      } else if (s.kind == "route53_upsert") {
        route53(s);
      } else if (s.kind == "ssm_parameter") {
        ssm(s);
      }
    }
    arc();
    iam();
    dr_checks();
    return std::move(items_);
  }

 private:
  void add(std::string id, item_state st, std::string detail, bool warning = false) {
    for (const auto& i : items_) {
      if (i.id == id) return;  // the first step that names an item decides it
    }
    items_.push_back({std::move(id), st, std::move(detail), warning});
  }
  void ok(std::string id, std::string d) { add(std::move(id), item_state::ok, std::move(d)); }
  void bad(std::string id, std::string d) { add(std::move(id), item_state::failed, std::move(d)); }
  bool no_aws(const std::string& id) {
    if (r_.aws != nullptr) return false;
    add(id, item_state::unknown, "no AWS access is configured");
    return true;
  }

  void precheck(const common::plan_step_config& s) {
    const std::string id = "precheck." + s.name;
    if (no_aws(id)) return;
    plan_context ctx;
    ctx.action = r_.action;
    ctx.from = r_.from;
    ctx.to = r_.to;
    ctx.recommendation_id = "readiness-" + r_.action;
    ctx.recommendation_hash = "readiness";
    step_deps deps;
    deps.aws = r_.aws;
    auto runner = make_aws_step(s, deps);
    if (!runner) return;
    const common::clock& clock = *r_.clock;
    step_context c{ctx, s,     clock, clock.monotonic() + s.timeout, [](std::chrono::milliseconds) { return false; },
                   1,   false, {}};
    step_outcome out;
    try {
      out = runner->precheck(c);
    } catch (const std::exception& e) {
      out = step_outcome::failed(e.what());
    }
    const std::string d = std::string(actuators::to_string(out.kind)) + (out.detail.empty() ? "" : ": " + out.detail);
    if (out.ok()) {
      ok(id, d);
    } else {
      bad(id, d);
    }
  }

  void aurora(const common::plan_step_config& s, const std::string& p) {
    const std::string global = s.params.value("global_cluster", std::string{});
    const std::string target = s.params.value("target_cluster_arn", std::string{});
    const std::string region = s.params.value("region", std::string{});
    if (no_aws(p + "global_cluster")) return;
    auto g = aws::describe_global_clusters(*r_.aws, region, global);
    std::string global_version;
    if (!g) {
      bad(p + "global_cluster", "DescribeGlobalClusters " + global + ": " + g.error().to_string());
    } else if (g->empty()) {
      bad(p + "global_cluster", "global cluster " + global + " does not exist");
    } else {
      const auto& gc = g->front();
      global_version = gc.engine_version;
      if (gc.status != "available") {
        bad(p + "global_cluster", "global cluster " + global + " is " + gc.status + ", not available");
      } else if (gc.failover_state && !gc.failover_state->status.empty()) {
        bad(p + "global_cluster", "global cluster " + global + " has a failover " + gc.failover_state->status +
                                      " towards " + gc.failover_state->to_db_cluster_arn);
      } else {
        ok(p + "global_cluster",
           "global cluster " + global + " is available with " + std::to_string(gc.members.size()) + " member(s)");
      }
      const bool member = std::any_of(gc.members.begin(), gc.members.end(),
                                      [&](const auto& m) { return names(m.db_cluster_arn, target); });
      if (member) {
        ok(p + "target_member", target + " is a member of " + global);
      } else {
        bad(p + "target_member", target + " is not a member of global cluster " + global);
      }
    }
    const std::string where = arn_region(target).empty() ? region : arn_region(target);
    auto d = aws::describe_db_clusters(*r_.aws, where, target);
    if (!d) {
      bad(p + "dr_writer_candidate", "DescribeDBClusters " + target + ": " + d.error().to_string());
    } else if (d->empty()) {
      bad(p + "dr_writer_candidate", target + " does not exist in " + where);
    } else {
      const auto& t = d->front();
      const std::size_t n = t.writer_instances.size() + t.reader_instances.size();
      if (n == 0) {
        bad(p + "dr_writer_candidate",
            target + " is headless: no DB instance could become the writer (add one with CreateDBInstance)");
      } else if (t.status != "available") {
        bad(p + "dr_writer_candidate", target + " is " + t.status + ", not available");
      } else {
        ok(p + "dr_writer_candidate", target + " is available with " + std::to_string(n) + " DB instance(s)");
      }
      if (!global_version.empty() && !t.engine_version.empty()) {
        if (major_version(t.engine_version) == major_version(global_version)) {
          ok(p + "engine_version", target + " runs " + t.engine_version + ", global cluster " + global_version);
        } else {
          bad(p + "engine_version", target + " runs " + t.engine + " " + t.engine_version +
                                        ", a different major version than the global cluster's " + global_version);
        }
      }
    }
    if (r_.lag_configured) lag_source(p);
  }

  void lag_source(const std::string& p) {
    const std::string id = p + "lag_source";
    if (!r_.status.is_object()) {
      add(id, item_state::unknown, "the engine's status is not available");
      return;
    }
    const json lag = r_.status.value("replication_lag", json::object());
    const json age = lag.value("age_s", json());
    if (!age.is_number()) {
      bad(id, "the engine has no replication lag sample: the agents cannot read the lag source");
      return;
    }
    const auto age_s = age.get<double>();
    if (age_s > static_cast<double>(r_.lag_max_age.count())) {
      bad(id, "the last replication lag sample is " + std::to_string(static_cast<long long>(age_s)) + " s old (> " +
                  std::to_string(r_.lag_max_age.count()) + " s)");
    } else if (!lag.value("reachable", true)) {
      bad(id, "the lag source was unreachable at the last sample");
    } else {
      ok(id, "a lag sample " + std::to_string(static_cast<long long>(age_s)) + " s old");
    }
  }

  void ecs(const common::plan_step_config& s) {
    const std::string p = "ecs." + s.name + ".";
    const std::string cluster = s.params.value("cluster", std::string{});
    const std::string service = s.params.value("service", std::string{});
    const std::string region = s.params.value("region", std::string{});
    if (no_aws(p + "service")) return;
    auto d = aws::describe_services(*r_.aws, region, cluster, {service});
    std::string family;
    if (!d) {
      bad(p + "service", "DescribeServices " + cluster + "/" + service + ": " + d.error().to_string());
    } else if (d->services.empty() || d->services.front().status != "ACTIVE") {
      bad(p + "service", "service " + cluster + "/" + service + " (" + region + ") does not exist" +
                             (d->services.empty() ? "" : " (status " + d->services.front().status + ")"));
    } else {
      family = task_family(d->services.front().task_definition);
      ok(p + "service", cluster + "/" + service + " (" + region + ") is ACTIVE");
    }
    const int count = s.params.value("desired_count", 0);
    const int need = std::max(count, s.params.value("min_capacity", count));
    if (s.params.value("scalable_target", true)) {
      auto t = aws::describe_scalable_target(*r_.aws, region, "ecs", aws::ecs_resource_id(cluster, service),
                                             aws::ecs_desired_count);
      if (!t) {
        bad(p + "max_capacity", "DescribeScalableTargets: " + t.error().to_string());
      } else if (!*t) {
        ok(p + "max_capacity", "no scalable target is registered: nothing caps the desired count");
      } else if ((*t)->max_capacity < need) {
        bad(p + "max_capacity", "scalable target " + (*t)->resource_id + " has MaxCapacity " +
                                    std::to_string((*t)->max_capacity) + " < the plan's count " + std::to_string(need));
      } else {
        ok(p + "max_capacity",
           "MaxCapacity " + std::to_string((*t)->max_capacity) + " >= the plan's count " + std::to_string(need));
      }
    }
    task_definition(p, service, region, family);
  }

  /// The opposite plan's ecs_scale step of the same service in another
  /// region: the service that runs there now.
  void task_definition(const std::string& p, const std::string& service, const std::string& region,
                       const std::string& family) {
    if (r_.other_plan == nullptr || family.empty()) return;
    for (const auto& o : r_.other_plan->steps) {
      if (o.kind != "ecs_scale" || o.params.value("service", std::string{}) != service ||
          o.params.value("region", std::string{}) == region)
        continue;
      const std::string oc = o.params.value("cluster", std::string{});
      const std::string orr = o.params.value("region", std::string{});
      auto d = aws::describe_services(*r_.aws, orr, oc, {service});
      if (!d || d->services.empty()) {
        add(p + "task_definition", item_state::unknown,
            cat({"cannot read ", oc, "/", service, " in ", orr, d ? " (not found)" : ": " + d.error().to_string()}));
        return;
      }
      const std::string other = task_family(d->services.front().task_definition);
      if (other == family) {
        ok(p + "task_definition", "task definition family " + family + " in both regions");
      } else {
        bad(p + "task_definition", cat({"task definition family ", family, " in ", region, ", ", other, " in ", orr}));
      }
      return;
    }
  }

  void route53(const common::plan_step_config& s) {
    const std::string p = "route53." + s.name + ".";
    const std::string zone = s.params.value("hosted_zone_id", std::string{});
    if (no_aws(p + "zone")) return;
    auto z = aws::get_hosted_zone(*r_.aws, zone);
    if (!z) {
      bad(p + "zone", "GetHostedZone " + zone + ": " + z.error().to_string());
      return;
    }
    ok(p + "zone", "hosted zone " + zone + " (" + *z + ") exists");
    const std::string name = s.params.value("record_name", std::string{});
    const std::string type = s.params.value("record_type", std::string("CNAME"));
    auto e = aws::record_exists(*r_.aws, zone, name, type);
    if (!e) {
      bad(p + "record", "ListResourceRecordSets " + name + " " + type + ": " + e.error().to_string());
    } else if (!*e) {
      bad(p + "record", "no " + type + " record " + name + " in hosted zone " + zone);
    } else {
      ok(p + "record", type + " record " + name + " exists");
    }
  }

  void ssm(const common::plan_step_config& s) {
    const std::string id = "ssm." + s.name + ".parameter";
    if (no_aws(id)) return;
    const std::string name = s.params.value("parameter", std::string{});
    const std::string region = s.params.value("region", std::string{});
    auto t = aws::parameter_type(*r_.aws, region, name);
    if (!t) {
      bad(id, "GetParameter " + name + " (" + region + "): " + t.error().to_string());
    } else {
      ok(id, "parameter " + name + " (" + region + ") exists (" + *t + ")");
    }
  }

  // Every routing control the plan names, read through the cluster; the
  // endpoints of the first ARC step, each asked alone.
  void arc() {
    std::vector<aws::arc_endpoint> eps;
    std::map<std::string, std::string> target;  // control ARN -> state the plan sets (first step wins)
    for (const auto& s : r_.plan->steps) {
      if (s.kind != "arc_routing_control") continue;
      auto arns = s.params.value("routing_control_arns", std::vector<std::string>{});
      if (arns.empty()) arns.push_back(s.params.value("routing_control_arn", std::string{}));
      for (const auto& a : arns)
        target.emplace(a, s.params.value("state", std::string{}));
      if (eps.empty()) {
        for (const auto& url : s.params.value("cluster_endpoints", std::vector<std::string>{})) {
          const std::string r = arn_region_of_host(url);
          eps.push_back({url, r.empty() ? s.params.value("region", std::string("us-east-1")) : r});
        }
      }
    }
    if (target.empty() || no_aws("arc.quorum")) return;
    const std::string probe_arn = target.begin()->first;
    std::vector<std::string> down;
    std::size_t up = 0;
    for (const auto& e : eps) {
      aws::call_options o;
      o.endpoint = e.url;
      o.max_attempts = 1;
      auto res = r_.aws->json(aws::service::arc_cluster, e.region, "ToggleCustomerAPI.GetRoutingControlState", "1.0",
                              json{{"RoutingControlArn", probe_arn}}, o);
      // A 4xx other than throttling is an answer (the endpoint is up).
      if (res ||
          (res.error().http_status >= 400 && res.error().http_status < 500 && !aws::is_throttling(res.error()))) {
        ++up;
      } else {
        down.push_back(e.url + " (" + res.error().to_string() + ")");
      }
    }
    const std::size_t need = std::min<std::size_t>(3, eps.size());
    std::string d = std::to_string(up) + " of " + std::to_string(eps.size()) + " cluster endpoints answer";
    for (std::size_t i = 0; i < down.size(); ++i)
      d += (i == 0 ? "; not answering: " : ", ") + down[i];
    if (up >= need && up > 0) {
      ok("arc.quorum", d);
    } else {
      bad("arc.quorum", d + " (at least " + std::to_string(need) + " must)");
    }
    add("arc.endpoints", up == eps.size() ? item_state::ok : item_state::failed,
        d + (up == eps.size() || up < need ? "" : " (a majority still answers: the plan works, with less margin)"),
        true);
    aws::arc_cluster cluster(*r_.aws, eps);
    for (const auto& [arn, want] : target) {
      const std::string id = "arc." + arn.substr(arn.rfind('/') + 1);
      auto st = cluster.get_state(arn);
      if (!st) {
        if (st.error().code == "ResourceNotFoundException") {
          bad(id, "routing control " + arn + " does not exist (" + st.error().to_string() + ")");
        } else {
          bad(id, "GetRoutingControlState " + arn + ": " + st.error().to_string());
        }
      } else if (r_.next && st->state == want) {
        bad(id, cat({"routing control ", arn, " is already ", st->state, ": the ", r_.action,
                     " plan expects to change it to ", want}));
      } else {
        ok(id, cat({"routing control ", arn, " is ", st->state, " (the plan sets ", want, ")"}));
      }
    }
  }

  static std::string arn_region_of_host(const std::string& url) {
    static const std::regex re(R"(([a-z]{2}(-gov)?-[a-z]+-[0-9]))");
    std::smatch m;
    return std::regex_search(url, m, re) ? m[1].str() : std::string{};
  }

  void iam() {
    if (r_.actuator_role_arn.empty()) return;
    if (no_aws("iam.simulate")) return;
    iam_scope scope{r_.account.empty() ? arn_account(r_.actuator_role_arn) : r_.account, r_.to};
    // Actions grouped by their resource list: one simulation per group.
    std::map<std::vector<std::string>, std::vector<std::string>> groups;
    std::vector<std::string> order;
    for (const auto& s : r_.plan->steps) {
      for (const auto& g : step_iam_grants(s, scope)) {
        if (!g.condition.is_null()) continue;  // needs request context keys a simulation lacks
        auto& acts = groups[g.resources];
        if (std::find(acts.begin(), acts.end(), g.action) == acts.end()) acts.push_back(g.action);
        if (std::find(order.begin(), order.end(), g.action) == order.end()) order.push_back(g.action);
      }
    }
    std::map<std::string, std::string> denied;  // action -> why
    std::map<std::string, std::string> error;
    for (const auto& [resources, actions] : groups) {
      std::vector<std::string> res = resources;
      if (res.size() == 1 && res.front() == "*") res.clear();
      auto r = aws::simulate_principal_policy(*r_.aws, r_.actuator_role_arn, actions, res);
      if (!r) {
        for (const auto& a : actions)
          error[a] = "SimulatePrincipalPolicy: " + r.error().to_string();
        continue;
      }
      for (const auto& e : *r) {
        if (e.decision != "allowed" && !denied.contains(e.action)) {
          denied[e.action] = e.action + " on " + (e.resource.empty() ? "*" : e.resource) + " is " + e.decision +
                             " for " + r_.actuator_role_arn;
        }
      }
    }
    for (const auto& a : order) {
      const std::string id = "iam." + a;
      if (const auto e = error.find(a); e != error.end()) {
        add(id, item_state::unknown, e->second);
      } else if (const auto d = denied.find(a); d != denied.end()) {
        bad(id, d->second);
      } else {
        ok(id, a + " is allowed for " + r_.actuator_role_arn);
      }
    }
  }

  void dr_checks() {
    std::vector<const common::check_config*> mine;
    for (const auto& c : r_.cfg->checks) {
      if (c.region == r_.to) mine.push_back(&c);
    }
    if (mine.empty()) return;
    if (!r_.status.is_object() || !r_.status.contains("checks")) {
      add("dr_checks.healthy", item_state::unknown, "the engine's check states are not available");
    } else {
      std::vector<std::string> bad_checks;
      std::vector<std::string> unsure;  // no quorum state yet (e.g. just after a start): not a failure
      std::vector<std::string> warned;
      for (const auto& c : r_.status["checks"]) {
        if (c.value("region", std::string{}) != r_.to) continue;
        const std::string st = c.value("state", std::string{});
        if (st == "down") bad_checks.push_back(c.value("id", std::string{}) + " is down");
        if (st != "up" && st != "down") unsure.push_back(c.value("id", std::string{}) + " is " + st);
        const json warn = c.value("warn", json::object());  // items() only refers to it
        for (const auto& [v, w] : warn.items()) {
          if (w == "cert_expiring") {
            warned.push_back(c.value("id", std::string{}) + " (" + v + ")");
            break;
          }
        }
      }
      const auto joined = [](const std::vector<std::string>& v) {
        std::string d;
        for (const auto& b : v)
          d += (d.empty() ? "" : ", ") + b;
        return d;
      };
      if (!bad_checks.empty()) {
        bad("dr_checks.healthy", joined(bad_checks));
      } else if (!unsure.empty()) {
        add("dr_checks.healthy", item_state::unknown, joined(unsure));
      } else {
        ok("dr_checks.healthy", "every check of " + r_.to + " is up");
      }
      certificates(mine, warned);
    }
  }

  void certificates(const std::vector<const common::check_config*>& mine, const std::vector<std::string>& warned) {
    std::vector<std::string> problems;
    std::vector<std::string> fine;
    for (const auto* c : mine) {
      const bool tls = (c->http && c->http->url.starts_with("https://")) || (c->tcp && c->tcp->tls);
      if (!tls || !r_.cert_not_after) continue;
      std::string error;
      const auto na = r_.cert_not_after(*c, error);
      if (!na) {
        problems.push_back(c->id + ": cannot read its certificate: " + error);
        continue;
      }
      const auto left = std::chrono::duration_cast<std::chrono::hours>(*na - r_.now);
      const long long days = left.count() / 24;
      if (left < std::chrono::hours(24) * r_.cert_min_days) {
        problems.push_back(c->id + ": certificate expires in " + std::to_string(days) + " day(s) (< " +
                           std::to_string(r_.cert_min_days) + ")");
      } else {
        fine.push_back(c->id + " " + std::to_string(days) + " days");
      }
    }
    for (const auto& w : warned)
      problems.push_back(w + ": the agents report cert_expiring");
    if (problems.empty() && fine.empty()) return;
    std::string d;
    for (const auto& p : problems.empty() ? fine : problems)
      d += (d.empty() ? "" : "; ") + p;
    if (problems.empty()) {
      ok("dr_checks.certificates", "valid for more than " + std::to_string(r_.cert_min_days) + " days: " + d);
    } else {
      bad("dr_checks.certificates", d);
    }
  }

  const readiness_request& r_;
  std::vector<readiness_item> items_;
};

}  // namespace

std::vector<readiness_item> probe_plan(const readiness_request& r) {
  return prober(r).run();
}

std::optional<common::wall_time> certinfo_expire_date(std::string_view line) {
  // OpenSSL's certinfo line: "Expire date:Jan  1 00:00:00 2027 GMT".
  constexpr std::string_view key = "Expire date:";
  if (!line.starts_with(key)) return std::nullopt;
  const std::string text(line.substr(key.size()));
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%b %d %H:%M:%S %Y GMT", &tm);
  if (end == nullptr) return std::nullopt;
  return common::wall_time{std::chrono::seconds{timegm(&tm)}};
}

std::optional<common::wall_time> tls_not_after(const common::check_config& c, std::chrono::milliseconds timeout,
                                               std::string& error) {
  std::string url;
  std::string ca;
  if (c.http) {
    url = c.http->url;
    ca = c.http->ca_file;
  } else if (c.tcp) {
    url = "https://" + c.tcp->address + "/";
    ca = c.tcp->ca_file;
  } else {
    error = "not a TLS check";
    return std::nullopt;
  }
  detector::curl::global_init();
  CURL* h = curl_easy_init();
  if (h == nullptr) {
    error = "curl_easy_init failed";
    return std::nullopt;
  }
  namespace cu = detector::curl;
  cu::set(h, CURLOPT_URL, url);
  cu::set(h, CURLOPT_CONNECT_ONLY, 1L);
  cu::set(h, CURLOPT_NOSIGNAL, 1L);
  cu::set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  cu::set(h, CURLOPT_PROXY, "");
  // The chain as the handshake saw it: after a CONNECT_ONLY transfer the
  // connection's SSL* is no longer reachable (CURLINFO_TLS_SSL_PTR), the
  // certificate info collected during the handshake is.
  cu::set(h, CURLOPT_CERTINFO, 1L);
  if (!ca.empty()) cu::set(h, CURLOPT_CAINFO, ca);
  const CURLcode rc = curl_easy_perform(h);
  std::optional<common::wall_time> out;
  if (rc != CURLE_OK) {
    error = curl_easy_strerror(rc);
  } else {
    curl_certinfo* info = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_CERTINFO, &info) == CURLE_OK && info != nullptr) {
      for (int i = 0; i < info->num_of_certs; ++i) {
        for (curl_slist* l = info->certinfo[i]; l != nullptr; l = l->next) {
          if (auto t = certinfo_expire_date(l->data); t && (!out || *t < *out)) out = t;
        }
      }
    }
    if (!out) error = "no certificate";
  }
  curl_easy_cleanup(h);
  return out;
}

}  // namespace vigil::actuators

namespace vigil::actuators {

std::vector<iam_grant> readiness_iam_grants(const common::config& cfg) {
  std::vector<iam_grant> out;
  if (!cfg.readiness.enabled) return out;
  std::set<std::string> zones;
  for (const auto* plan : {&cfg.failover, &cfg.failback}) {
    for (const auto& s : plan->steps) {
      if (s.kind == "route53_upsert") zones.insert(s.params.value("hosted_zone_id", std::string{}));
    }
  }
  if (!zones.empty()) {
    std::vector<std::string> arns;
    arns.reserve(zones.size());
    for (const auto& z : zones)
      arns.push_back("arn:aws:route53:::hostedzone/" + z);
    out.push_back({"route53:GetHostedZone", arns, nullptr, true, "ReadinessRoute53Read"});
    out.push_back({"route53:ListResourceRecordSets", arns, nullptr, true, "ReadinessRoute53Read"});
  }
  if (!cfg.readiness.actuator_role_arn.empty()) {
    out.push_back(
        {"iam:SimulatePrincipalPolicy", {cfg.readiness.actuator_role_arn}, nullptr, true, "ReadinessSimulatePolicy"});
  }
  return out;
}

}  // namespace vigil::actuators
