"""deploy/kubernetes: manifests parse, are complete, hardened, and agree with the config."""
import pathlib
import re
import unittest

import yaml

from deploy_common import DEPLOY, load_yaml_docs, run, tool

K8S = DEPLOY / "kubernetes"
CONFIG = K8S / "common" / "vigil.yaml"
VIGIL_CONFIGS = {CONFIG, K8S / "sidecar" / "vigil-sidecar.yaml"}
VANTAGES = ["us-east-1", "us-west-2", "eu-west-1"]
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet"}
# Expected minimum requests per vigil subcommand.
REQUESTS = {"agent": ("50m", "64Mi"), "engine": ("100m", "128Mi"), "run": ("50m", "64Mi")}


def manifest_files():
    return sorted(p for p in K8S.rglob("*.yaml")
                  if p.name != "kustomization.yaml" and p not in VIGIL_CONFIGS)


def all_objects():
    for path in manifest_files():
        for doc in load_yaml_docs(path):
            yield path, doc


def pod_spec(obj):
    return obj["spec"]["template"]["spec"]


def vigil_containers(obj):
    """(container, subcommand) for containers running the vigil image."""
    for c in pod_spec(obj)["containers"]:
        if re.search(r"(^|/)vigil(:|@|$)", c["image"]):
            yield c, c["args"][0]


def json_pointer(doc, pointer):
    cur = doc
    for part in pointer.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    return cur


class ManifestTest(unittest.TestCase):
    def test_every_document_parses_and_is_named(self):
        n = 0
        for path, doc in all_objects():
            n += 1
            with self.subTest(file=str(path.relative_to(DEPLOY)), kind=doc.get("kind")):
                self.assertIsInstance(doc, dict)
                self.assertTrue(doc.get("apiVersion"), "apiVersion")
                self.assertTrue(doc.get("kind"), "kind")
                self.assertTrue(doc.get("metadata", {}).get("name"), "metadata.name")
                self.assertRegex(doc["metadata"]["name"], r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
        self.assertGreater(n, 10)

    def test_vigil_configs_parse(self):
        for path in VIGIL_CONFIGS:
            cfg = yaml.safe_load(path.read_text())
            for key in ("deployment", "regions", "vantages", "engine", "coordination"):
                self.assertIn(key, cfg, f"{path.name}: {key}")

    def test_kustomizations_resolve(self):
        kfiles = sorted(K8S.rglob("kustomization.yaml"))
        self.assertGreaterEqual(len(kfiles), 7)
        for k in kfiles:
            with self.subTest(kustomization=str(k.relative_to(DEPLOY))):
                doc = yaml.safe_load(k.read_text())
                self.assertEqual(doc["apiVersion"], "kustomize.config.k8s.io/v1beta1")
                self.assertEqual(doc["kind"], "Kustomization")
                for res in doc.get("resources", []):
                    target = (k.parent / res).resolve()
                    self.assertTrue(target.exists(), f"resource {res} missing")
                    if target.is_dir():
                        self.assertTrue((target / "kustomization.yaml").exists(), f"{res} has no kustomization")
                for gen in doc.get("configMapGenerator", []):
                    for f in gen.get("files", []):
                        self.assertTrue((k.parent / f.split("=")[-1]).exists(), f)

    def test_agent_overlays_patch_real_paths(self):
        base = load_yaml_docs(K8S / "agent" / "base" / "deployment.yaml")[0]
        overlays = sorted(p.name for p in (K8S / "agent" / "overlays").iterdir() if p.is_dir())
        self.assertEqual(overlays, sorted(VANTAGES), "one agent overlay per vantage")
        for v in VANTAGES:
            with self.subTest(vantage=v):
                k = yaml.safe_load((K8S / "agent" / "overlays" / v / "kustomization.yaml").read_text())
                (patch,) = k["patches"]
                self.assertEqual(patch["target"]["kind"], "Deployment")
                self.assertEqual(patch["target"]["name"], base["metadata"]["name"])
                ops = yaml.safe_load(patch["patch"])
                for op in ops:
                    json_pointer(base, op["path"])  # raises if the path does not exist
                values = {op["path"]: op["value"] for op in ops}
                self.assertEqual(values["/spec/template/spec/containers/0/args/4"], v)
                self.assertEqual(json_pointer(base, "/spec/template/spec/containers/0/args/3"), "--vantage")
                self.assertEqual(values["/metadata/name"], f"vigil-agent-{v}")
                self.assertEqual(values["/spec/selector/matchLabels/vigil.dev~1vantage"], v)

    def test_kustomize_build(self):
        """Render every entry point with kubectl kustomize when available."""
        kubectl = tool(self, "kubectl", required=False)
        if kubectl is None:
            return
        for d in ["engine", "etcd", "sidecar"] + [f"agent/overlays/{v}" for v in VANTAGES]:
            with self.subTest(kustomization=d):
                r = run([kubectl, "kustomize", str(K8S / d)])
                self.assertEqual(r.returncode, 0, r.stderr)
                docs = [x for x in yaml.safe_load_all(r.stdout) if x]
                self.assertNotIn("VANTAGE", r.stdout, "placeholder left in rendered output")
                for doc in docs:
                    self.assertTrue(doc["metadata"]["name"])
                if d.startswith("agent/"):
                    v = d.rsplit("/", 1)[1]
                    (dep,) = [x for x in docs if x["kind"] == "Deployment"]
                    self.assertEqual(dep["metadata"]["name"], f"vigil-agent-{v}")
                    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
                    self.assertEqual(args[args.index("--vantage") + 1], v)
                    cms = {x["metadata"]["name"] for x in docs if x["kind"] == "ConfigMap"}
                    vol = [x for x in pod_spec(dep)["volumes"] if "configMap" in x][0]
                    self.assertIn(vol["configMap"]["name"], cms, "generated ConfigMap name is referenced")


class WorkloadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.objects = [doc for _, doc in all_objects()]
        cls.workloads = [o for o in cls.objects if o["kind"] in WORKLOADS]
        cls.vigil_workloads = [o for o in cls.workloads if list(vigil_containers(o))]
        cls.secrets = {d["metadata"]["name"]: d for d in load_yaml_docs(K8S / "secrets.example.yaml")}

    def test_the_three_variants_exist(self):
        subcommands = {sub for o in self.vigil_workloads for _, sub in vigil_containers(o)}
        self.assertEqual(subcommands, {"agent", "engine", "run"})

    def test_probes_point_at_healthz_and_readyz(self):
        for o in self.vigil_workloads:
            for c, sub in vigil_containers(o):
                with self.subTest(workload=o["metadata"]["name"], container=c["name"]):
                    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
                    self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz")
                    self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz")
                    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                        if probe in c:
                            port = c[probe]["httpGet"]["port"]
                            self.assertTrue(port in ports or port in ports.values(), f"{probe} port {port}")

    def test_resources(self):
        for o in self.vigil_workloads:
            for c, sub in vigil_containers(o):
                with self.subTest(workload=o["metadata"]["name"]):
                    req = c["resources"]["requests"]
                    self.assertEqual((req["cpu"], req["memory"]), REQUESTS[sub])
                    self.assertIn("memory", c["resources"]["limits"])

    def test_security_context(self):
        for o in self.workloads:
            spec = pod_spec(o)
            with self.subTest(workload=o["metadata"]["name"]):
                self.assertTrue(spec["securityContext"]["runAsNonRoot"])
                self.assertNotEqual(spec["securityContext"].get("runAsUser", 1), 0)
                self.assertEqual(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault")
                for c in spec["containers"]:
                    sc = c["securityContext"]
                    self.assertIs(sc["allowPrivilegeEscalation"], False)
                    self.assertIs(sc["readOnlyRootFilesystem"], True)
                    self.assertIn("ALL", sc["capabilities"]["drop"])
                # A secret mounted 0440 is readable by a non-root user only through fsGroup.
                if any("secret" in v for v in spec.get("volumes", [])):
                    self.assertIn("fsGroup", spec["securityContext"])

    def test_scrape_annotations(self):
        for o in self.vigil_workloads:
            ann = o["spec"]["template"]["metadata"]["annotations"]
            with self.subTest(workload=o["metadata"]["name"]):
                self.assertEqual(ann["prometheus.io/scrape"], "true")
                self.assertEqual(ann["prometheus.io/path"], "/metrics")
                ports = [p["containerPort"] for c, _ in vigil_containers(o) for p in c["ports"]]
                self.assertIn(int(ann["prometheus.io/port"]), ports)

    def test_mounts_match_volumes_and_secrets(self):
        for o in self.vigil_workloads:
            spec = pod_spec(o)
            vols = {v["name"]: v for v in spec["volumes"]}
            claims = {t["metadata"]["name"] for t in o["spec"].get("volumeClaimTemplates", [])}
            for c, _ in vigil_containers(o):
                with self.subTest(workload=o["metadata"]["name"]):
                    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
                    for m in c["volumeMounts"]:
                        self.assertTrue(m["name"] in vols or m["name"] in claims, m["name"])
                    self.assertIn("/etc/vigil/vigil.yaml", mounts)
                    self.assertEqual(c["args"][c["args"].index("--config") + 1], "/etc/vigil/vigil.yaml")
                    self.assertIn("/tmp", mounts, "writable /tmp with a read-only root")
            for v in vols.values():
                if "secret" in v and o["metadata"]["name"].startswith("vigil-"):
                    secret = self.secrets.get(v["secret"]["secretName"])
                    self.assertIsNotNone(secret, f"{v['secret']['secretName']} not in secrets.example.yaml")
                    for item in v["secret"].get("items", []):
                        self.assertIn(item["key"], secret["stringData"])

    def test_config_file_paths_are_mounted(self):
        """Every *_file path in the config lies under a mount of the pods that read it."""
        cfg = yaml.safe_load(CONFIG.read_text())
        paths = []

        def walk(x):
            if isinstance(x, dict):
                for k, v in x.items():
                    if k.endswith("_file") and isinstance(v, str):
                        paths.append(v)
                    walk(v)
            elif isinstance(x, list):
                for v in x:
                    walk(v)
        walk(cfg)
        self.assertGreaterEqual(len(paths), 4)
        engine = self.by_kind_name("StatefulSet", "vigil-engine")
        (c, _), = vigil_containers(engine)
        secret_items = {}
        for v in pod_spec(engine)["volumes"]:
            if "secret" in v:
                secret_items[v["name"]] = v["secret"]
        for p in paths:
            with self.subTest(path=p):
                mount = next((m for m in c["volumeMounts"] if p.startswith(m["mountPath"] + "/")), None)
                self.assertIsNotNone(mount, f"{p} is not under any engine mount")
                sec = secret_items.get(mount["name"])
                if sec and "items" in sec:
                    self.assertIn(p[len(mount["mountPath"]) + 1:], [i["path"] for i in sec["items"]])

    def by_kind_name(self, kind, name):
        (o,) = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        return o


class EngineTopologyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.objects = [doc for _, doc in all_objects()]
        cls.cfg = yaml.safe_load(CONFIG.read_text())

    def get(self, kind, name):
        (o,) = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        return o

    def test_statefulset(self):
        sts = self.get("StatefulSet", "vigil-engine")
        self.assertEqual(sts["spec"]["replicas"], 3)
        headless = self.get("Service", sts["spec"]["serviceName"])
        self.assertEqual(headless["spec"]["clusterIP"], "None")
        labels = sts["spec"]["template"]["metadata"]["labels"]
        for k, v in sts["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(labels[k], v)
        anti = pod_spec(sts)["affinity"]["podAntiAffinity"]
        self.assertTrue(anti.get("requiredDuringSchedulingIgnoredDuringExecution"))
        (claim,) = sts["spec"]["volumeClaimTemplates"]
        (c, sub), = vigil_containers(sts)
        self.assertEqual(sub, "engine")
        state = [m for m in c["volumeMounts"] if m["name"] == claim["metadata"]["name"]]
        self.assertEqual(state[0]["mountPath"], self.cfg["engine"]["state_dir"])

    def test_services_select_the_engine(self):
        sts = self.get("StatefulSet", "vigil-engine")
        labels = sts["spec"]["template"]["metadata"]["labels"]
        port_names = {p["name"] for c, _ in vigil_containers(sts) for p in c["ports"]}
        for name, headless in (("vigil-engine-headless", True), ("vigil-engine", False)):
            with self.subTest(service=name):
                svc = self.get("Service", name)
                self.assertEqual(svc["spec"].get("clusterIP") == "None", headless)
                for k, v in svc["spec"]["selector"].items():
                    self.assertEqual(labels.get(k), v)
                for p in svc["spec"]["ports"]:
                    self.assertIn(p["targetPort"], port_names)

    def test_pdb(self):
        pdb = self.get("PodDisruptionBudget", "vigil-engine")
        self.assertEqual(pdb["apiVersion"], "policy/v1")
        self.assertEqual(pdb["spec"]["minAvailable"], 2)
        sts = self.get("StatefulSet", "vigil-engine")
        self.assertEqual(pdb["spec"]["selector"]["matchLabels"], sts["spec"]["selector"]["matchLabels"])

    def test_service_and_pod_monitors(self):
        sm = self.get("ServiceMonitor", "vigil-engine")
        self.assertEqual(sm["apiVersion"], "monitoring.coreos.com/v1")
        svc = self.get("Service", "vigil-engine")
        for k, v in sm["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(svc["metadata"]["labels"].get(k), v)
        self.assertIn(sm["spec"]["endpoints"][0]["port"], [p["name"] for p in svc["spec"]["ports"]])
        self.assertEqual(sm["spec"]["endpoints"][0]["path"], "/metrics")
        # job label = value of the jobLabel label on the Service: must be what the rules select.
        self.assertEqual(svc["metadata"]["labels"][sm["spec"]["jobLabel"]], "vigil-engine")
        pm = self.get("PodMonitor", "vigil-agent")
        self.assertEqual(pm["apiVersion"], "monitoring.coreos.com/v1")
        dep = self.get("Deployment", "vigil-agent")
        self.assertEqual(dep["spec"]["template"]["metadata"]["labels"][pm["spec"]["jobLabel"]], "vigil-agent")

    def test_config_matches_topology(self):
        cfg = self.cfg
        self.assertEqual(cfg["vantages"], VANTAGES)
        sts = self.get("StatefulSet", "vigil-engine")
        ns = sts["metadata"]["namespace"]
        (c, _), = vigil_containers(sts)
        port = c["ports"][0]["containerPort"]
        self.assertEqual(cfg["engine"]["listen"], f"0.0.0.0:{port}", "containers listen on every interface")
        expected = [f"http://vigil-engine-{i}.{sts['spec']['serviceName']}.{ns}.svc.cluster.local:{port}"
                    for i in range(sts["spec"]["replicas"])]
        self.assertEqual(cfg["engine"]["endpoints"], expected, "agents post to every replica")
        etcd = self.get("StatefulSet", "vigil-etcd")
        self.assertEqual(cfg["coordination"]["backend"], "etcd")
        self.assertEqual(len(cfg["coordination"]["endpoints"]), etcd["spec"]["replicas"])
        for i, ep in enumerate(cfg["coordination"]["endpoints"]):
            self.assertEqual(ep, f"https://vigil-etcd-{i}.{etcd['spec']['serviceName']}.{ns}.svc.cluster.local:2379")

    def test_lag_budget_matches_alert(self):
        rules = yaml.safe_load((DEPLOY / "prometheus" / "vigil.rules.yml").read_text())
        (rule,) = [r for g in rules["groups"] for r in g["rules"] if r["alert"] == "VigilReplicationLagOverBudget"]
        threshold = float(re.search(r">\s*([\d.]+)\s*$", rule["expr"]).group(1))
        max_lag = self.cfg["decision"]["max_lag"]
        self.assertRegex(max_lag, r"^\d+s$")
        self.assertEqual(float(max_lag[:-1]), threshold)

    def test_sidecar(self):
        dep = self.get("Deployment", "shop-api")
        containers = pod_spec(dep)["containers"]
        self.assertEqual(len(containers), 2)
        ((c, sub),) = vigil_containers(dep)
        self.assertEqual(sub, "run")
        self.assertIn("--vantage", c["args"])
        side = yaml.safe_load((K8S / "sidecar" / "vigil-sidecar.yaml").read_text())
        self.assertEqual(side["coordination"]["backend"], "file")
        self.assertIn(c["args"][c["args"].index("--vantage") + 1], side["vantages"])



# --- What Prometheus would scrape, and what the NetworkPolicies let through --

def selector_matches(selector, labels):
    """A LabelSelector (matchLabels + matchExpressions) against a label map."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        op, key, values = e["operator"], e["key"], e.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pods_of(objects):
    """The pods the workloads create: {name, namespace, labels, annotations, ports {name: number}}."""
    pods = []
    for o in objects:
        if o["kind"] not in WORKLOADS:
            continue
        tmpl = o["spec"]["template"]
        ports = {p.get("name", str(p["containerPort"])): p["containerPort"]
                 for c in tmpl["spec"]["containers"] for p in c.get("ports", [])}
        for i in range(o["spec"].get("replicas", 1)):
            pods.append({"name": f"{o['metadata']['name']}-{i}", "namespace": o["metadata"]["namespace"],
                         "labels": tmpl["metadata"]["labels"], "annotations": tmpl["metadata"].get("annotations", {}),
                         "ports": ports})
    return pods


def operator_targets(objects, pods):
    """(job, pod name, port) per scrape the Prometheus Operator generates from
    the ServiceMonitors (one per selected Service endpoint: a pod behind two
    selected Services is scraped twice) and the PodMonitors."""
    targets = []
    services = [o for o in objects if o["kind"] == "Service"]
    for m in (o for o in objects if o["kind"] in ("ServiceMonitor", "PodMonitor")):
        ns = m["spec"].get("namespaceSelector", {}).get("matchNames") or [m["metadata"]["namespace"]]
        if m["kind"] == "ServiceMonitor":
            for svc in services:
                if svc["metadata"]["namespace"] not in ns:
                    continue
                if not selector_matches(m["spec"]["selector"], svc["metadata"].get("labels", {})):
                    continue
                job = svc["metadata"]["labels"].get(m["spec"].get("jobLabel"), svc["metadata"]["name"])
                for ep in m["spec"]["endpoints"]:
                    (sport,) = [p for p in svc["spec"]["ports"] if p["name"] == ep["port"]]
                    for pod in pods:
                        if (pod["namespace"] == svc["metadata"]["namespace"]
                                and selector_matches({"matchLabels": svc["spec"]["selector"]}, pod["labels"])):
                            targets.append((job, pod["name"], pod["ports"].get(sport["targetPort"], sport["targetPort"])))
        else:
            for pod in pods:
                if pod["namespace"] in ns and selector_matches(m["spec"]["selector"], pod["labels"]):
                    job = pod["labels"].get(m["spec"].get("jobLabel"), m["metadata"]["name"])
                    for ep in m["spec"]["podMetricsEndpoints"]:
                        if ep["port"] in pod["ports"]:
                            targets.append((job, pod["name"], pod["ports"][ep["port"]]))
    return targets


def relabel(labels, configs):
    """Prometheus relabelling (keep, drop, replace); None when the target is dropped."""
    labels = dict(labels)
    for rc in configs:
        action = rc.get("action", "replace")
        value = rc.get("separator", ";").join(labels.get(s, "") for s in rc.get("source_labels", []))
        m = re.fullmatch(rc.get("regex", "(.*)"), value)
        if action == "keep" and not m:
            return None
        if action == "drop" and m:
            return None
        if action == "replace" and m:
            repl = re.sub(r"\$(\d+)", lambda g: m.group(int(g.group(1))) or "", rc.get("replacement", "$1"))
            labels[rc["target_label"]] = repl
    return labels


def kubernetes_sd_targets(pods, scrape_configs):
    """(job, pod name, port) per target of role=pod scrape configs: one per
    declared container port, deduplicated on the labels left after relabelling
    (as Prometheus does within a scrape pool)."""
    out = []
    for job in scrape_configs:
        sd = job["kubernetes_sd_configs"][0]
        assert sd["role"] == "pod"
        names = sd.get("namespaces", {}).get("names")
        seen = set()
        for pod in pods:
            if names and pod["namespace"] not in names:
                continue
            for pname, port in pod["ports"].items():
                meta = {"__address__": f"10.0.0.1:{port}", "__meta_kubernetes_pod_name": pod["name"],
                        "__meta_kubernetes_namespace": pod["namespace"],
                        "__meta_kubernetes_pod_container_port_name": pname}
                for k, v in pod["labels"].items():
                    meta["__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", k)] = v
                for k, v in pod["annotations"].items():
                    meta["__meta_kubernetes_pod_annotation_" + re.sub(r"[^a-zA-Z0-9_]", "_", k)] = v
                final = relabel(meta, job.get("relabel_configs", []))
                if final is None:
                    continue
                key = tuple(sorted((k, v) for k, v in final.items() if not k.startswith("__meta_")))
                if key not in seen:
                    seen.add(key)
                    out.append((job["job_name"], pod["name"], int(final["__address__"].rsplit(":", 1)[1])))
    return out


class ScrapeTopologyTest(unittest.TestCase):
    """Every engine and agent is scraped exactly once, so sum by (job)
    (vigil_leader) counts replicas and VigilMultipleLeaders means what it says."""

    @classmethod
    def setUpClass(cls):
        cls.objects = [doc for _, doc in all_objects()]
        cls.pods = pods_of(cls.objects)

    def assert_once_each(self, targets):
        for app, job in (("vigil-engine", "vigil-engine"), ("vigil-agent", "vigil-agent")):
            pods = [p["name"] for p in self.pods if p["labels"]["app.kubernetes.io/name"] == app]
            self.assertTrue(pods, app)
            for pod in pods:
                with self.subTest(pod=pod):
                    self.assertEqual([t for t in targets if t[1] == pod], [(job, pod, pod_port(self.pods, pod))],
                                     f"{pod} must be scraped exactly once, by job {job}")

    def test_operator_monitors_scrape_each_pod_once(self):
        targets = operator_targets(self.objects, self.pods)
        self.assertEqual(len([t for t in targets if t[0] == "vigil-engine"]), 3)
        self.assert_once_each(targets)

    def test_double_selection_is_detected(self):
        """The check can fail: with the headless Service selected too, each engine counts twice."""
        objects = yaml.safe_load(yaml.safe_dump(self.objects))
        for o in objects:
            if o["kind"] == "Service" and o["metadata"]["name"] == "vigil-engine-headless":
                o["metadata"]["labels"]["vigil.dev/metrics"] = "true"
        targets = operator_targets(objects, self.pods)
        self.assertEqual(len([t for t in targets if t[0] == "vigil-engine"]), 6)

    def test_kubernetes_sd_config_scrapes_each_pod_once(self):
        doc = load_yaml_docs(DEPLOY / "prometheus" / "prometheus-kubernetes.yml")[0]
        targets = kubernetes_sd_targets(self.pods, doc["scrape_configs"])
        self.assert_once_each(targets)
        sidecars = [t for t in targets if t[0] == "vigil-sidecar"]
        self.assertEqual(len(sidecars), len([p for p in self.pods if p["labels"].get("vigil.dev/mode") == "sidecar"]))

    def test_monitors_and_rules_carry_the_release_label(self):
        kinds = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
        found = {o["kind"] for o in self.objects if o["kind"] in kinds}
        self.assertEqual(found, kinds)
        for o in self.objects:
            if o["kind"] in kinds:
                self.assertEqual(o["metadata"]["labels"].get("release"), "kube-prometheus-stack", o["metadata"]["name"])

    def test_prometheusrule_is_the_rules_file(self):
        rules = yaml.safe_load((DEPLOY / "prometheus" / "vigil.rules.yml").read_text())
        (pr,) = [o for o in self.objects if o["kind"] == "PrometheusRule"]
        self.assertEqual(pr["spec"]["groups"], rules["groups"])
        r = run(["python3", str(DEPLOY / "prometheus" / "render-prometheusrule.py"), "--check"])
        self.assertEqual(r.returncode, 0, r.stderr)


def pod_port(pods, name):
    (pod,) = [p for p in pods if p["name"] == name]
    return pod["ports"]["metrics" if "metrics" in pod["ports"] else "http"]


def peer_allowed(peers, pod, namespace_labels):
    """Does a NetworkPolicy peer list (from / to) admit `pod`?"""
    for peer in peers:
        if "ipBlock" in peer:
            if pod.get("external"):
                return True
            continue
        if pod.get("external"):
            continue
        ns_ok = (selector_matches(peer["namespaceSelector"], namespace_labels[pod["namespace"]])
                 if "namespaceSelector" in peer else pod["namespace"] == peer.get("_own_namespace"))
        pod_ok = selector_matches(peer["podSelector"], pod["labels"]) if "podSelector" in peer else True
        if ns_ok and pod_ok:
            return True
    return False


def policy_allows(policies, namespace_labels, src, dst, port, direction):
    """Does the set of policies let `src` reach `dst` on TCP `port`, seen from
    one side (`direction` Ingress: dst's policies; Egress: src's)?"""
    subject, other = (dst, src) if direction == "Ingress" else (src, dst)
    if subject.get("external"):
        return True
    applying = [p for p in policies if p["metadata"]["namespace"] == subject["namespace"]
                and selector_matches(p["spec"]["podSelector"], subject["labels"])
                and direction in p["spec"].get("policyTypes", ["Ingress"])]
    if not applying:
        return True
    key, peers_key = direction.lower(), "from" if direction == "Ingress" else "to"
    for p in applying:
        for rule in p["spec"].get(key, []):
            peers = [dict(x, _own_namespace=p["metadata"]["namespace"]) for x in rule.get(peers_key, [])]
            ports = [x["port"] for x in rule.get("ports", [])]
            if (not peers or peer_allowed(peers, other, namespace_labels)) and (not ports or port in ports):
                return True
    return False


class NetworkPolicyTest(unittest.TestCase):
    """The flows vigil needs pass the policies of both ends; others do not."""

    @classmethod
    def setUpClass(cls):
        cls.objects = [doc for _, doc in all_objects()]
        cls.policies = [o for o in cls.objects if o["kind"] == "NetworkPolicy"]
        pods = pods_of(cls.objects)

        def one(app):
            return next(p for p in pods if p["labels"].get("app.kubernetes.io/name") == app)
        cls.engine, cls.agent, cls.etcd = one("vigil-engine"), one("vigil-agent"), one("vigil-etcd")
        cls.etcd2 = [p for p in pods if p["labels"].get("app.kubernetes.io/name") == "vigil-etcd"][1]
        cls.engine2 = [p for p in pods if p["labels"].get("app.kubernetes.io/name") == "vigil-engine"][1]
        cls.prometheus = {"namespace": "monitoring", "labels": {"app.kubernetes.io/name": "prometheus"}}
        cls.ingress = {"namespace": "ingress-nginx", "labels": {"app.kubernetes.io/name": "ingress-nginx"}}
        cls.dns = {"namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}}
        cls.stranger = {"namespace": "default", "labels": {"app": "shop"}}
        cls.internet = {"external": True, "namespace": "", "labels": {}}
        cls.ns_labels = {ns: {"kubernetes.io/metadata.name": ns}
                         for ns in ("vigil", "monitoring", "ingress-nginx", "kube-system", "default")}

    def allowed(self, src, dst, port):
        return (policy_allows(self.policies, self.ns_labels, src, dst, port, "Egress")
                and policy_allows(self.policies, self.ns_labels, src, dst, port, "Ingress"))

    def test_every_vigil_workload_has_a_policy(self):
        names = {p["metadata"]["name"] for p in self.policies}
        self.assertEqual(names, {"vigil-engine", "vigil-agent", "vigil-etcd"})
        for p in self.policies:
            self.assertEqual(p["apiVersion"], "networking.k8s.io/v1")
            self.assertEqual(sorted(p["spec"]["policyTypes"]), ["Egress", "Ingress"])

    def test_needed_flows_pass(self):
        flows = [("agent -> engine", self.agent, self.engine, 9470),
                 ("engine -> engine", self.engine, self.engine2, 9470),
                 ("engine -> etcd", self.engine, self.etcd, 2379),
                 ("etcd -> etcd peer", self.etcd, self.etcd2, 2380),
                 ("prometheus -> engine", self.prometheus, self.engine, 9470),
                 ("prometheus -> engine metrics", self.prometheus, self.engine, 9471),
                 ("prometheus -> agent", self.prometheus, self.agent, 9472),
                 ("ingress -> engine", self.ingress, self.engine, 9470),
                 ("agent -> dns", self.agent, self.dns, 53),
                 ("engine -> dns", self.engine, self.dns, 53),
                 ("etcd -> dns", self.etcd, self.dns, 53),
                 ("agent -> checked URL", self.agent, self.internet, 443),
                 ("engine -> paging sink / AWS", self.engine, self.internet, 443)]
        for what, src, dst, port in flows:
            with self.subTest(flow=what):
                self.assertTrue(self.allowed(src, dst, port), what)

    def test_other_flows_are_denied(self):
        flows = [("agent -> etcd", self.agent, self.etcd, 2379),
                 ("stranger -> engine", self.stranger, self.engine, 9470),
                 ("stranger -> etcd", self.stranger, self.etcd, 2379),
                 ("engine -> etcd peer port", self.engine, self.etcd, 2380),
                 ("stranger -> agent", self.stranger, self.agent, 9472),
                 ("internet -> engine", self.internet, self.engine, 9470),
                 ("stranger -> engine metrics", self.stranger, self.engine, 9471),
                 ("agent -> engine metrics", self.agent, self.engine, 9471),
                 ("etcd -> internet", self.etcd, self.internet, 443)]
        for what, src, dst, port in flows:
            with self.subTest(flow=what):
                self.assertFalse(self.allowed(src, dst, port), what)


if __name__ == "__main__":
    unittest.main()
