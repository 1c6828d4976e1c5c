package main

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestConvert(t *testing.T) {
	in := map[string]any{
		"description": "dropped",
		"type":        "object",
		"properties": map[string]any{
			"port":  map[string]any{"$ref": "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
			"plain": map[string]any{"type": "string", "format": "int-or-string"},
			"crd":   map[string]any{"x-kubernetes-int-or-string": true, "anyOf": []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}}},
			"free":  map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "string"}}, "x-kubernetes-preserve-unknown-fields": true},
			"list":  map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{}}, "x-kubernetes-list-type": "atomic"},
			"maybe": map[string]any{"type": "string", "nullable": true},
		},
	}
	want := `{"additionalProperties":false,"properties":{` +
		`"crd":{"oneOf":[{"type":"string"},{"type":"integer"}]},` +
		`"free":{"properties":{"a":{"type":"string"}},"type":"object"},` +
		`"list":{"items":{"additionalProperties":false,"properties":{},"type":"object"},"type":"array"},` +
		`"maybe":{"type":["string","null"]},` +
		`"plain":{"oneOf":[{"type":"string"},{"type":"integer"}]},` +
		`"port":{"$ref":"_definitions.json#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}},"type":"object"}`
	got, err := json.Marshal(convert(in, "_definitions.json#/definitions/"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("convert:\n got  %s\n want %s", got, want)
	}
}

func TestFileName(t *testing.T) {
	for _, c := range []struct{ kind, group, version, want string }{
		{"Deployment", "apps", "v1", "deployment-apps-v1.json"},
		{"ConfigMap", "", "v1", "configmap-v1.json"},
		{"NetworkPolicy", "networking.k8s.io", "v1", "networkpolicy-networking-v1.json"},
		{"ServiceMonitor", "monitoring.coreos.com", "v1", "servicemonitor-monitoring-v1.json"},
	} {
		if got := fileName(c.kind, c.group, c.version); got != c.want {
			t.Errorf("fileName(%s, %s, %s) = %s, want %s", c.kind, c.group, c.version, got, c.want)
		}
	}
	if !reflect.DeepEqual(refs(map[string]any{"a": []any{map[string]any{"$ref": "#/definitions/x"}}}), []string{"x"}) {
		t.Error("refs")
	}
}
