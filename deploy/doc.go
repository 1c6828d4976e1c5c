// Package deploy holds coprod's deployment artefacts: the container image
// (container/), Kubernetes manifests (kubernetes/: a Kustomize base with
// staging and production overlays, and the JSON schemas they are validated
// against), and systemd units for a single VM (systemd/). It has no code: its
// tests render and validate the manifests, build the binary exactly as the
// image does, and start it with the shipped configuration against a real
// PostgreSQL. The runbook is docs/operations.md.
package deploy
