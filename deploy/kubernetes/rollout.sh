#!/bin/sh
# Roll out one overlay with plain kubectl: configuration, then the migration
# Job (waited for), then the API and the workers. Usage:
#   deploy/kubernetes/rollout.sh deploy/kubernetes/overlays/production
# Argo CD users need not run this: the sync waves give the same order.
set -eu
overlay=${1:?usage: rollout.sh OVERLAY_DIR}
ns=$(kubectl kustomize "$overlay" | sed -n 's/^  namespace: //p' | head -n 1)
k() { kubectl --namespace "$ns" "$@"; }

# 1. ConfigMap and Secrets (their names carry a content hash).
kubectl apply -k "$overlay" --selector app.kubernetes.io/component=config
# 2. The migration Job: its template is immutable, so the last release's goes first.
k delete job coprod-migrate --ignore-not-found --wait=true
kubectl apply -k "$overlay" --selector app.kubernetes.io/component=migrate
if ! k wait --for=condition=complete --timeout=15m job/coprod-migrate; then
	k logs job/coprod-migrate --tail=50 || true
	echo "migration failed: the running release is untouched" >&2
	exit 1
fi
# 3. Everything else; the Deployments replace pods only once new ones are ready.
kubectl apply -k "$overlay"
k rollout status deployment/coprod-api --timeout=10m
k rollout status deployment/coprod-worker --timeout=10m
