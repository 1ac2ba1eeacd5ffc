// The plan steps that call AWS: ARC routing controls (data plane), Aurora
// global database failover / switchover / detach, waiting for a DB cluster,
// ECS capacity (and its Application Auto Scaling minimum), Route 53 records and SSM parameters. Each pre-check is
// read-only and decides whether the mutating call is still needed.
#include <algorithm>
#include <optional>
#include <regex>

#include "actuators/plan_steps.hpp"
#include "aws/application_autoscaling.hpp"
#include "aws/arc.hpp"
#include "aws/ecs_ssm.hpp"
#include "aws/rds.hpp"
#include "aws/route53.hpp"

namespace vigil::actuators {

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string str(const json& p, const char* key, const std::string& fallback = {}) {
  const auto it = p.find(key);
  return it != p.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::vector<std::string> strings(const json& p, const char* key) {
  std::vector<std::string> out;
  if (const auto it = p.find(key); it != p.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

/// The region named in an ARN (arn:aws:rds:us-east-1:123:cluster:x) or a host
/// name (host-a.us-west-2.example.com), or "".
std::string region_in(const std::string& text) {
  static const std::regex re(R"(([a-z]{2}(-gov)?-[a-z]+-[0-9]))");
  std::smatch m;
  return std::regex_search(text, m, re) ? m[1].str() : std::string{};
}

/// An ARN names `target` when they are equal or the ARN ends in ":cluster:<target>".
bool names(const std::string& arn, const std::string& target) {
  if (arn == target) return true;
  const std::string tail = ":cluster:" + target;
  return arn.size() > tail.size() && arn.compare(arn.size() - tail.size(), tail.size(), tail) == 0;
}

std::string err(const aws::aws_error& e) {
  return e.to_string();
}

class aws_step : public step_runner {
 protected:
  explicit aws_step(aws::client& c) : c_(c) {}
  aws::client& c_;
};

// --- ARC routing controls --------------------------------------------------

class arc_step final : public aws_step {
 public:
  arc_step(aws::client& c, const common::plan_step_config& s, const step_deps& d)
      : aws_step(c), state_(str(s.params, "state")) {
    arns_ = strings(s.params, "routing_control_arns");
    if (arns_.empty()) arns_.push_back(str(s.params, "routing_control_arn"));
    const std::string fallback = str(s.params, "region", "us-east-1");
    std::vector<aws::arc_endpoint> eps;
    for (const auto& url : strings(s.params, "cluster_endpoints")) {
      const std::string r = region_in(url);
      eps.push_back({url, r.empty() ? fallback : r});
    }
    cluster_ = std::make_unique<aws::arc_cluster>(c, std::move(eps), d.random ? d.random : aws::default_random());
  }

  step_outcome precheck(const step_context&) override {
    std::size_t in_place = 0;
    for (const auto& arn : arns_) {
      auto st = cluster_->get_state(arn);
      if (!st) return step_outcome::failed("GetRoutingControlState " + arn + ": " + err(st.error()));
      if (st->state == state_) ++in_place;
    }
    if (in_place == arns_.size()) {
      return step_outcome::already_done("every routing control is already " + state_ + " (read at " +
                                        cluster_->last_endpoint() + ")");
    }
    return step_outcome::done();
  }

  step_outcome run(const step_context&) override {
    aws::result<aws::none> r = aws::none{};
    if (arns_.size() == 1) {
      r = cluster_->update_state(arns_[0], state_);
    } else {
      std::vector<aws::routing_control_update> u;
      for (const auto& a : arns_)
        u.push_back({a, state_});
      r = cluster_->update_states(u);
    }
    if (!r) return step_outcome::failed("UpdateRoutingControlState(s): " + err(r.error()));
    return step_outcome::done("set " + std::to_string(arns_.size()) + " routing control(s) " + state_ + " through " +
                              cluster_->last_endpoint());
  }

 private:
  std::vector<std::string> arns_;
  std::string state_;
  std::unique_ptr<aws::arc_cluster> cluster_;
};

// --- Aurora global database --------------------------------------------------

class aurora_promote_step final : public aws_step {
 public:
  aurora_promote_step(aws::client& c, const common::plan_step_config& s)
      : aws_step(c),
        step_(s),
        global_(str(s.params, "global_cluster")),
        target_(str(s.params, "target_cluster_arn")),
        region_(str(s.params, "region")) {}

  step_outcome precheck(const step_context& c) override {
    auto g = aws::describe_global_clusters(c_, region_, global_);
    if (!g) {
      if (g.error().code == "GlobalClusterNotFoundFault") {
        return step_outcome::unexpected("global cluster " + global_ + " does not exist (" + err(g.error()) + ")");
      }
      return step_outcome::failed("DescribeGlobalClusters " + global_ + ": " + err(g.error()));
    }
    if (g->empty()) return step_outcome::unexpected("global cluster " + global_ + " does not exist");
    const aws::global_cluster& gc = g->front();
    if (gc.failover_state && !gc.failover_state->status.empty()) {
      if (names(gc.failover_state->to_db_cluster_arn, target_)) {
        return step_outcome::already_done("a failover of " + global_ + " to " + target_ + " is already " +
                                          gc.failover_state->status);
      }
      return step_outcome::unexpected("global cluster " + global_ + " is already " + gc.failover_state->status +
                                      " towards " + gc.failover_state->to_db_cluster_arn + ", not the approved " +
                                      target_ + ": someone else is failing it over; take over by hand");
    }
    const aws::global_cluster_member* writer = nullptr;
    bool target_member = false;
    for (const auto& m : gc.members) {
      if (m.is_writer) writer = &m;
      if (names(m.db_cluster_arn, target_)) target_member = true;
    }
    if (writer != nullptr && names(writer->db_cluster_arn, target_)) {
      return step_outcome::already_done(target_ + " is already the writer of " + global_);
    }
    if (!target_member) {
      return step_outcome::unexpected("the target " + target_ + " is not a member of global cluster " + global_);
    }
    if (writer != nullptr) {
      const std::string wr = region_in(writer->db_cluster_arn);
      if (!c.plan.from.empty() && !wr.empty() && wr != c.plan.from) {
        return step_outcome::unexpected("global cluster " + global_ + " has writer " + writer->db_cluster_arn + " in " +
                                        wr + ", neither the approved source region " + c.plan.from +
                                        " nor the target: it was failed over elsewhere; aborting, take over by hand");
      }
    }
    if (const auto how = aws_promotion(c); !how.refusal.empty()) return step_outcome::unexpected(how.refusal);
    return headless_check();
  }

  step_outcome run(const step_context& c) override {
    const auto how = aws_promotion(c);
    if (!how.refusal.empty()) return step_outcome::unexpected(how.refusal);
    aws::result<aws::global_cluster> r = aws::global_cluster{};
    std::string what = how.operation;
    if (how.operation == "SwitchoverGlobalCluster") {
      r = aws::switchover_global_cluster(c_, region_, global_, target_);
    } else {
      r = aws::failover_global_cluster(c_, region_, {global_, target_, how.allow_data_loss, false});
      if (how.allow_data_loss) what += " AllowDataLoss=true";
    }
    if (!r) return step_outcome::failed(what + " (mode " + how.mode + "): " + err(r.error()));
    return step_outcome::done(what + " accepted for " + global_ + " -> " + target_ + " (mode " + how.mode + ", " +
                              how.statement + ")");
  }

 private:
  aurora_promotion aws_promotion(const step_context& c) const { return choose_promotion(step_, c.plan); }

  /// A secondary with no DB instance ("headless") has nothing to promote to
  /// writer: AWS would refuse, or leave the database without a writer.
  step_outcome headless_check() {
    const std::string where = region_in(target_).empty() ? region_ : region_in(target_);
    auto d = aws::describe_db_clusters(c_, where, target_);
    if (!d) {
      if (d.error().code == "DBClusterNotFoundFault") {
        return step_outcome::unexpected("the target " + target_ + " does not exist in " + where + " (" +
                                        err(d.error()) + ")");
      }
      return step_outcome::failed("DescribeDBClusters " + target_ + ": " + err(d.error()));
    }
    if (d->empty()) return step_outcome::unexpected("the target " + target_ + " does not exist in " + where);
    const aws::db_cluster& t = d->front();
    if (t.writer_instances.empty() && t.reader_instances.empty()) {
      return step_outcome::unexpected("the target " + target_ + " is headless: DescribeDBClusters lists no DB " +
                                      "instance that could become the writer; add one (CreateDBInstance) before " +
                                      "promoting it, nothing was changed");
    }
    return step_outcome::done();
  }

  common::plan_step_config step_;
  std::string global_, target_, region_;
};

class aurora_detach_step final : public aws_step {
 public:
  aurora_detach_step(aws::client& c, const common::plan_step_config& s)
      : aws_step(c),
        global_(str(s.params, "global_cluster")),
        member_(str(s.params, "db_cluster_arn")),
        region_(str(s.params, "region")) {}

  step_outcome precheck(const step_context&) override {
    auto g = aws::describe_global_clusters(c_, region_, global_);
    if (!g) {
      if (g.error().code == "GlobalClusterNotFoundFault") {
        return step_outcome::already_done("global cluster " + global_ + " no longer exists");
      }
      return step_outcome::failed("DescribeGlobalClusters " + global_ + ": " + err(g.error()));
    }
    if (g->empty()) return step_outcome::already_done("global cluster " + global_ + " no longer exists");
    for (const auto& m : g->front().members) {
      if (names(m.db_cluster_arn, member_)) return step_outcome::done();
    }
    return step_outcome::already_done(member_ + " is not a member of " + global_ + " (already detached)");
  }

  step_outcome run(const step_context&) override {
    auto r = aws::remove_from_global_cluster(c_, region_, global_, member_);
    if (!r) return step_outcome::failed("RemoveFromGlobalCluster: " + err(r.error()));
    return step_outcome::done("detached " + member_ + " from " + global_);
  }

 private:
  std::string global_, member_, region_;
};

class wait_db_step final : public aws_step {
 public:
  wait_db_step(aws::client& c, const common::plan_step_config& s)
      : aws_step(c),
        cluster_(str(s.params, "cluster")),
        region_(str(s.params, "region")),
        status_(str(s.params, "status", "available")),
        poll_(std::chrono::milliseconds{s.params.value("poll_interval", std::int64_t{5000})}) {}

  step_outcome precheck(const step_context&) override {
    const auto s = look();
    if (s.ready) return step_outcome::already_done(s.detail);
    return step_outcome::done();
  }

  step_outcome run(const step_context& c) override {
    for (;;) {
      const auto s = look();
      if (s.ready) return step_outcome::done(s.detail);
      if (c.expired()) return step_outcome::failed("timed out: " + s.detail);
      if (!c.sleep(std::min(poll_, c.remaining()))) return step_outcome::failed("cancelled: " + s.detail);
    }
  }

 private:
  struct seen {
    bool ready = false;
    std::string detail;
  };
  seen look() {
    auto r = aws::describe_db_clusters(c_, region_, cluster_);
    if (!r) return {false, "DescribeDBClusters " + cluster_ + ": " + err(r.error())};
    if (r->empty()) return {false, cluster_ + " not found in " + region_};
    const auto& d = r->front();
    const bool writer = !d.writer_instances.empty();
    return {d.status == status_ && writer, cluster_ + " (" + region_ + ") is " + d.status +
                                               (writer ? ", writer " + d.writer_instances.front() : ", no writer yet")};
  }

  std::string cluster_, region_, status_;
  std::chrono::milliseconds poll_;
};

// --- ECS -------------------------------------------------------------------------

// The service's desired count and, when Application Auto Scaling manages the
// service, its scalable target's MinCapacity: without it a scale-in policy
// would shrink a just-activated region back (docs/aws-notes.md). The previous
// minimum goes into the step's result (journaled) so that the failback plan's
// ecs_scale can set it back with `min_capacity`.
class ecs_scale_step final : public aws_step {
 public:
  ecs_scale_step(aws::client& c, const common::plan_step_config& s)
      : aws_step(c),
        cluster_(str(s.params, "cluster")),
        service_(str(s.params, "service")),
        region_(str(s.params, "region")),
        count_(s.params.value("desired_count", 0)),
        min_(s.params.value("min_capacity", count_)),
        manage_min_(s.params.value("scalable_target", true)),
        wait_(s.params.value("wait", true)) {}

  step_outcome precheck(const step_context&) override {
    auto d = aws::describe_services(c_, region_, cluster_, {service_});
    if (!d) return step_outcome::failed("DescribeServices: " + err(d.error()));
    if (d->services.empty()) return step_outcome::failed("service " + cluster_ + "/" + service_ + " not found");
    const auto& s = d->services.front();
    desired_now_ = s.desired_count;
    target_.reset();
    if (manage_min_) {
      auto t = aws::describe_scalable_target(c_, region_, "ecs", aws::ecs_resource_id(cluster_, service_),
                                             aws::ecs_desired_count);
      if (!t) return step_outcome::failed("DescribeScalableTargets: " + err(t.error()));
      target_ = *t;
    }
    const bool min_in_place = !target_ || target_->min_capacity == min_;
    if (min_in_place && s.desired_count == count_ && (!wait_ || s.running_count == count_)) {
      return step_outcome::already_done(describe(s) + min_text());
    }
    return step_outcome::done();
  }

  step_outcome run(const step_context& c) override {
    std::string raised;
    if (target_ && target_->min_capacity != min_) {
      // MinCapacity may not exceed MaxCapacity, and a desired count above the
      // maximum would be scaled back in: raise the maximum when needed.
      const int need = std::max(min_, count_);
      aws::register_scalable_target_request r{"ecs", target_->resource_id, aws::ecs_desired_count, min_, std::nullopt};
      if (need > target_->max_capacity) r.max_capacity = need;
      auto u = aws::register_scalable_target(c_, region_, r);
      if (!u)
        return step_outcome::failed("RegisterScalableTarget MinCapacity=" + std::to_string(min_) + ": " +
                                    err(u.error()));
      raised = "; MinCapacity " + std::to_string(target_->min_capacity) + " -> " + std::to_string(min_) +
               (r.max_capacity ? ", MaxCapacity " + std::to_string(target_->max_capacity) + " -> " +
                                     std::to_string(*r.max_capacity)
                               : "") +
               " (previous_min_capacity=" + std::to_string(target_->min_capacity) + ")";
      target_->min_capacity = min_;
      if (r.max_capacity) target_->max_capacity = *r.max_capacity;
    }
    if (desired_now_ != count_) {
      auto u = aws::update_service(c_, region_, {cluster_, service_, count_, false});
      if (!u) return step_outcome::failed("UpdateService: " + err(u.error()) + raised);
      desired_now_ = count_;
      if (!wait_) return step_outcome::done("desired count set to " + std::to_string(count_) + raised);
    }
    for (;;) {
      auto d = aws::describe_services(c_, region_, cluster_, {service_});
      std::string detail;
      if (!d) {
        detail = "DescribeServices: " + err(d.error());
      } else if (d->services.empty()) {
        detail = "service " + service_ + " not found";
      } else {
        const auto& s = d->services.front();
        detail = describe(s);
        if (s.running_count == count_ && s.desired_count == count_) return step_outcome::done(detail + raised);
        if (!wait_) return step_outcome::done(detail + raised);
      }
      if (c.expired()) {
        return step_outcome::failed(
            std::string("timed out waiting for the running count: ").append(detail).append(raised));
      }
      if (!c.sleep(std::min(std::chrono::milliseconds(2000), c.remaining()))) {
        return step_outcome::failed(std::string("cancelled: ").append(detail).append(raised));
      }
    }
  }

 private:
  std::string describe(const aws::ecs_service& s) const {
    return cluster_ + "/" + service_ + " (" + region_ + "): desired " + std::to_string(s.desired_count) + ", running " +
           std::to_string(s.running_count) + ", pending " + std::to_string(s.pending_count);
  }
  std::string min_text() const {
    if (!manage_min_) return "";
    if (!target_) return "; no scalable target registered";
    return "; MinCapacity " + std::to_string(target_->min_capacity);
  }

  std::string cluster_, service_, region_;
  int count_;
  int min_;
  bool manage_min_;
  bool wait_;
  int desired_now_ = -1;
  std::optional<aws::scalable_target> target_;
};

// --- Route 53 (control plane in us-east-1: a dependency in the recovery path) -

class route53_step final : public aws_step {
 public:
  route53_step(aws::client& c, const common::plan_step_config& s)
      : aws_step(c), zone_(str(s.params, "hosted_zone_id")) {
    change_.action = "UPSERT";
    change_.name = str(s.params, "record_name");
    change_.type = str(s.params, "record_type", "CNAME");
    change_.ttl = static_cast<int>(s.params.value("ttl", std::int64_t{60}));
    change_.values = strings(s.params, "values");
    if (change_.values.empty()) change_.values.push_back(str(s.params, "value"));
    change_.set_identifier = str(s.params, "set_identifier");
  }

  // UPSERT is idempotent: no pre-check is needed to make a re-run safe.
  step_outcome precheck(const step_context&) override { return step_outcome::done(); }

  step_outcome run(const step_context& c) override {
    auto r = aws::change_resource_record_sets(c_, zone_, {change_},
                                              "vigil " + c.plan.action + " " + c.plan.recommendation_id);
    if (!r) return step_outcome::failed("ChangeResourceRecordSets: " + err(r.error()));
    aws::change_info info = *r;
    while (info.status != "INSYNC") {
      if (c.expired()) return step_outcome::failed("change " + info.id + " still " + info.status + " at the timeout");
      if (!c.sleep(std::min(std::chrono::milliseconds(2000), c.remaining()))) return step_outcome::failed("cancelled");
      auto g = aws::get_change(c_, info.id);
      if (!g) {
        if (c.expired()) return step_outcome::failed("GetChange " + info.id + ": " + err(g.error()));
        continue;
      }
      info = *g;
    }
    return step_outcome::done("UPSERT " + change_.name + " -> " + change_.values.front() + " is INSYNC (" + info.id +
                              ")");
  }

 private:
  std::string zone_;
  aws::record_change change_;
};

// --- SSM ---------------------------------------------------------------------------

class ssm_step final : public aws_step {
 public:
  ssm_step(aws::client& c, const common::plan_step_config& s)
      : aws_step(c),
        name_(str(s.params, "parameter")),
        value_(str(s.params, "value")),
        region_(str(s.params, "region")),
        secure_(s.params.value("secure", false)) {}

  // GetParameter: the value is already in place -> already_done. Any failure
  // to read it proceeds: PutParameter with Overwrite is idempotent.
  step_outcome precheck(const step_context&) override {
    auto r = c_.json(aws::service::ssm, region_, "AmazonSSM.GetParameter", "1.1",
                     json{{"Name", name_}, {"WithDecryption", secure_}});
    if (r && r->contains("Parameter") && (*r)["Parameter"].value("Value", std::string{}) == value_) {
      return step_outcome::already_done(name_ + " is already " + (secure_ ? "<secure>" : value_));
    }
    return step_outcome::done();
  }

  step_outcome run(const step_context&) override {
    auto r = aws::put_parameter(c_, region_, {name_, value_, secure_ ? "SecureString" : "String", true});
    if (!r) return step_outcome::failed("PutParameter " + name_ + ": " + err(r.error()));
    return step_outcome::done(name_ + " = " + (secure_ ? "<secure>" : value_) + " (version " + std::to_string(*r) +
                              ")");
  }

 private:
  std::string name_, value_, region_;
  bool secure_;
};

class missing_client_step final : public step_runner {
 public:
  explicit missing_client_step(std::string kind) : kind_(std::move(kind)) {}
  step_outcome precheck(const step_context&) override {
    return step_outcome::failed("step kind " + kind_ + " needs AWS access and none is configured");
  }
  step_outcome run(const step_context& c) override { return precheck(c); }

 private:
  std::string kind_;
};

}  // namespace

std::unique_ptr<step_runner> make_aws_step(const common::plan_step_config& s, const step_deps& d) {
  static const std::vector<std::string> kinds{"arc_routing_control", "aurora_global_failover", "aurora_switchover",
                                              "aurora_detach",       "wait_db_cluster",        "ecs_scale",
                                              "route53_upsert",      "ssm_parameter"};
  if (std::find(kinds.begin(), kinds.end(), s.kind) == kinds.end()) return nullptr;
  if (d.aws == nullptr) return std::make_unique<missing_client_step>(s.kind);
  aws::client& c = *d.aws;
  if (s.kind == "arc_routing_control") return std::make_unique<arc_step>(c, s, d);
  if (s.kind == "aurora_global_failover" || s.kind == "aurora_switchover") {
    return std::make_unique<aurora_promote_step>(c, s);
  }
  if (s.kind == "aurora_detach") return std::make_unique<aurora_detach_step>(c, s);
  if (s.kind == "wait_db_cluster") return std::make_unique<wait_db_step>(c, s);
  if (s.kind == "ecs_scale") return std::make_unique<ecs_scale_step>(c, s);
  if (s.kind == "route53_upsert") return std::make_unique<route53_step>(c, s);
  return std::make_unique<ssm_step>(c, s);
}

}  // namespace vigil::actuators
