#!/bin/sh
# Turns on etcd auth for vigil, once, after `kubectl apply -k deploy/kubernetes/etcd`
# (docs/ha.md, "etcd with TLS and auth"): a root user, and a user "vigil"
# whose role may read and write only vigil's key prefix. Runs etcdctl inside
# vigil-etcd-0 over the members' own mutual TLS. Reads the passwords from the
# vigil-etcd-root and vigil-secrets Secrets (deploy/kubernetes/secrets.example.yaml).
#   sh deploy/kubernetes/etcd/enable-auth.sh [PREFIX]     # default /vigil/shop-prod
set -eu
NS=vigil
PREFIX=${1:-/vigil/shop-prod}
secret() { kubectl -n "$NS" get secret "$1" -o "jsonpath={.data.$2}" | base64 -d; }
ROOT_PW=$(secret vigil-etcd-root root-password)
VIGIL_PW=$(secret vigil-secrets etcd-password)
ctl() {
  kubectl -n "$NS" exec -i vigil-etcd-0 -c etcd -- env ETCDCTL_API=3 \
    ETCDCTL_ENDPOINTS=https://127.0.0.1:2379 ETCDCTL_CACERT=/etc/etcd/tls/ca.crt \
    ETCDCTL_CERT=/etc/etcd/tls/server.crt ETCDCTL_KEY=/etc/etcd/tls/server.key \
    /usr/local/bin/etcdctl "$@"
}
ctl user add root --new-user-password="$ROOT_PW"
ctl role add root
ctl user grant-role root root
ctl role add vigil
ctl role grant-permission vigil --prefix=true readwrite "$PREFIX/"
ctl user add vigil --new-user-password="$VIGIL_PW"
ctl user grant-role vigil vigil
ctl auth enable
echo "etcd auth enabled; user vigil may use $PREFIX/"
