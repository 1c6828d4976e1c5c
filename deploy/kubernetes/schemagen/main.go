// Command schemagen writes the JSON schemas that deploy's test validates the
// Kubernetes manifests against (kubeconform's local-registry layout), from
// sources that come through the Go module proxy, since nothing else can be
// downloaded:
//
//	go mod download k8s.io/kubernetes@v1.35.4 github.com/prometheus-operator/prometheus-operator@v0.85.0
//	go run ./deploy/kubernetes/schemagen \
//	    -swagger $(go env GOMODCACHE)/k8s.io/kubernetes@v1.35.4/api/openapi-spec/swagger.json \
//	    -crd $(go env GOMODCACHE)/github.com/prometheus-operator/prometheus-operator@v0.85.0/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml \
//	    -out deploy/kubernetes/schemas
//
// It does what openapi2jsonschema does for kubeconform's "-strict" schemas:
// objects refuse undocumented fields, int-or-string and quantities accept
// both forms, and apiVersion and kind must match. Only the kinds the
// manifests use are written; descriptions are dropped to keep them small.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// kinds are the built-in kinds deploy/kubernetes uses, by OpenAPI definition.
var kinds = []string{
	"io.k8s.api.apps.v1.Deployment",
	"io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
	"io.k8s.api.batch.v1.Job",
	"io.k8s.api.core.v1.ConfigMap",
	"io.k8s.api.core.v1.PersistentVolumeClaim",
	"io.k8s.api.core.v1.Secret",
	"io.k8s.api.core.v1.Service",
	"io.k8s.api.core.v1.ServiceAccount",
	"io.k8s.api.networking.v1.NetworkPolicy",
	"io.k8s.api.policy.v1.PodDisruptionBudget",
}

const defsFile = "_definitions.json"

type schema = map[string]any

func main() {
	swagger := flag.String("swagger", "", "Kubernetes api/openapi-spec/swagger.json")
	crd := flag.String("crd", "", "ServiceMonitor CustomResourceDefinition (YAML)")
	out := flag.String("out", "", "folder to write the schemas to")
	flag.Parse()
	if *swagger == "" || *crd == "" || *out == "" {
		log.Fatal("want -swagger, -crd and -out")
	}
	if err := builtins(*swagger, *out); err != nil {
		log.Fatal(err)
	}
	if err := serviceMonitor(*crd, *out); err != nil {
		log.Fatal(err)
	}
}

// builtins writes _definitions.json with every definition reachable from
// kinds, and one small file per kind that refers into it.
func builtins(swaggerPath, out string) error {
	raw, err := os.ReadFile(swaggerPath)
	if err != nil {
		return err
	}
	var spec struct {
		Definitions map[string]schema `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return err
	}
	reach := map[string]bool{}
	var visit func(name string) error
	visit = func(name string) error {
		if reach[name] {
			return nil
		}
		d, ok := spec.Definitions[name]
		if !ok {
			return fmt.Errorf("definition %s not in the spec", name)
		}
		reach[name] = true
		for _, ref := range refs(d) {
			if err := visit(ref); err != nil {
				return err
			}
		}
		return nil
	}
	for _, k := range kinds {
		if err := visit(k); err != nil {
			return err
		}
	}
	defs := schema{}
	for name := range reach {
		defs[name] = convert(spec.Definitions[name], "#/definitions/")
	}
	// Quantities are written as strings or numbers (cpu: 1, memory: 256Mi).
	if _, ok := defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]; ok {
		defs["io.k8s.apimachinery.pkg.api.resource.Quantity"] = schema{"oneOf": []any{schema{"type": "string"}, schema{"type": "number"}}}
	}
	if err := write(filepath.Join(out, defsFile), schema{"definitions": defs}); err != nil {
		return err
	}
	for _, k := range kinds {
		gvk := spec.Definitions[k]["x-kubernetes-group-version-kind"].([]any)[0].(map[string]any)
		group, version, kind := gvk["group"].(string), gvk["version"].(string), gvk["kind"].(string)
		apiVersion := version
		if group != "" {
			apiVersion = group + "/" + version
		}
		s := schema{
			"$schema": "http://json-schema.org/draft-04/schema#",
			"allOf": []any{
				schema{"$ref": defsFile + "#/definitions/" + k},
				schema{"properties": schema{"apiVersion": schema{"enum": []any{apiVersion}}, "kind": schema{"enum": []any{kind}}},
					"required": []any{"apiVersion", "kind"}},
			},
		}
		if err := write(filepath.Join(out, fileName(kind, group, version)), s); err != nil {
			return err
		}
	}
	return nil
}

// serviceMonitor writes the ServiceMonitor schema from its CRD.
func serviceMonitor(crdPath, out string) error {
	raw, err := os.ReadFile(crdPath)
	if err != nil {
		return err
	}
	var crd struct {
		Spec struct {
			Group string `json:"group"`
			Names struct {
				Kind string `json:"kind"`
			} `json:"names"`
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema schema `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		return err
	}
	for _, v := range crd.Spec.Versions {
		if v.Name != "v1" {
			continue
		}
		s := convert(v.Schema.OpenAPIV3Schema, "").(schema)
		s["$schema"] = "http://json-schema.org/draft-04/schema#"
		props := s["properties"].(schema)
		props["apiVersion"] = schema{"enum": []any{crd.Spec.Group + "/v1"}}
		props["kind"] = schema{"enum": []any{crd.Spec.Names.Kind}}
		s["required"] = []any{"apiVersion", "kind", "spec"}
		return write(filepath.Join(out, fileName(crd.Spec.Names.Kind, crd.Spec.Group, "v1")), s)
	}
	return fmt.Errorf("%s: no v1", crdPath)
}

// fileName follows kubeconform's {{.ResourceKind}}{{.KindSuffix}}.json:
// the kind and the first label of the group, lower case.
func fileName(kind, group, version string) string {
	name := strings.ToLower(kind)
	if group != "" {
		name += "-" + strings.ToLower(strings.Split(group, ".")[0])
	}
	return name + "-" + strings.ToLower(version) + ".json"
}

// refs lists the definitions that s refers to.
func refs(s any) []string {
	var out []string
	switch v := s.(type) {
	case map[string]any:
		for k, x := range v {
			if r, ok := x.(string); ok && k == "$ref" {
				out = append(out, strings.TrimPrefix(r, "#/definitions/"))
			} else {
				out = append(out, refs(x)...)
			}
		}
	case []any:
		for _, x := range v {
			out = append(out, refs(x)...)
		}
	}
	return out
}

// convert turns an OpenAPI schema into a strict draft-4 JSON schema.
func convert(s any, refPrefix string) any {
	m, ok := s.(map[string]any)
	if !ok {
		return s
	}
	out := schema{}
	for k, v := range m {
		switch {
		case k == "description" || strings.HasPrefix(k, "x-kubernetes-") && k != "x-kubernetes-int-or-string" && k != "x-kubernetes-preserve-unknown-fields":
		case k == "properties" || k == "patternProperties" || k == "definitions":
			props := schema{}
			for name, p := range v.(map[string]any) {
				props[name] = convert(p, refPrefix)
			}
			out[k] = props
		case k == "$ref":
			out[k] = refPrefix + strings.TrimPrefix(v.(string), "#/definitions/")
		case k == "items" || k == "additionalProperties" || k == "not":
			out[k] = convert(v, refPrefix)
		case k == "allOf" || k == "anyOf" || k == "oneOf":
			var list []any
			for _, x := range v.([]any) {
				list = append(list, convert(x, refPrefix))
			}
			out[k] = list
		default:
			out[k] = v
		}
	}
	if out["format"] == "int-or-string" || out["x-kubernetes-int-or-string"] == true {
		delete(out, "type")
		delete(out, "format")
		delete(out, "x-kubernetes-int-or-string")
		delete(out, "anyOf")
		out["oneOf"] = []any{schema{"type": "string"}, schema{"type": "integer"}}
	}
	preserve := out["x-kubernetes-preserve-unknown-fields"] == true
	delete(out, "x-kubernetes-preserve-unknown-fields")
	if _, has := out["properties"]; has && !preserve {
		if _, set := out["additionalProperties"]; !set {
			out["additionalProperties"] = false
		}
	}
	if t, ok := out["type"].(string); ok && out["nullable"] == true {
		out["type"] = []any{t, "null"}
	}
	delete(out, "nullable")
	return out
}

// write stores s as indented JSON with sorted keys, so regenerating is a
// stable diff.
func write(path string, s schema) error {
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
