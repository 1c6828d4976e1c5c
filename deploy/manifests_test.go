package deploy_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yannh/kubeconform/pkg/validator"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kubernetesVersion is the version whose schemas are vendored in
// kubernetes/schemas (see its SOURCE.md).
const kubernetesVersion = "1.35.4"

var overlays = []string{"base", "overlays/staging", "overlays/production"}

type meta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

type object struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   meta              `json:"metadata"`
	Spec       json.RawMessage   `json:"spec"`
	Data       map[string]string `json:"data"`
}

type selector struct {
	MatchLabels      map[string]string `json:"matchLabels"`
	MatchExpressions []struct {
		Key      string   `json:"key"`
		Operator string   `json:"operator"`
		Values   []string `json:"values"`
	} `json:"matchExpressions"`
}

// matches reports whether labels satisfy s (In expressions only).
func (s selector) matches(labels map[string]string) bool {
	for k, v := range s.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	for _, e := range s.MatchExpressions {
		if e.Operator != "In" || !slices.Contains(e.Values, labels[e.Key]) {
			return false
		}
	}
	return true
}

type probe struct {
	HTTPGet *struct {
		Path string `json:"path"`
		Port any    `json:"port"`
	} `json:"httpGet"`
}

type container struct {
	Name  string   `json:"name"`
	Image string   `json:"image"`
	Args  []string `json:"args"`
	Env   []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"env"`
	EnvFrom []struct {
		ConfigMapRef *struct{ Name string } `json:"configMapRef"`
		SecretRef    *struct{ Name string } `json:"secretRef"`
	} `json:"envFrom"`
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	} `json:"ports"`
	ReadinessProbe *probe `json:"readinessProbe"`
	LivenessProbe  *probe `json:"livenessProbe"`
	Lifecycle      *struct {
		PreStop *struct {
			Sleep *struct{ Seconds int } `json:"sleep"`
		} `json:"preStop"`
	} `json:"lifecycle"`
	Resources struct {
		Requests map[string]any `json:"requests"`
		Limits   map[string]any `json:"limits"`
	} `json:"resources"`
	SecurityContext *struct {
		AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
		Capabilities             *struct {
			Drop []string `json:"drop"`
		} `json:"capabilities"`
	} `json:"securityContext"`
}

type podTemplate struct {
	Metadata meta `json:"metadata"`
	Spec     struct {
		AutomountServiceAccountToken  *bool  `json:"automountServiceAccountToken"`
		TerminationGracePeriodSeconds *int   `json:"terminationGracePeriodSeconds"`
		RestartPolicy                 string `json:"restartPolicy"`
		SecurityContext               *struct {
			RunAsNonRoot *bool `json:"runAsNonRoot"`
			RunAsUser    *int  `json:"runAsUser"`
		} `json:"securityContext"`
		Containers []container `json:"containers"`
	} `json:"spec"`
}

type workload struct {
	Replicas     *int     `json:"replicas"`
	BackoffLimit *int     `json:"backoffLimit"`
	Selector     selector `json:"selector"`
	Strategy     struct {
		RollingUpdate *struct {
			MaxUnavailable any `json:"maxUnavailable"`
		} `json:"rollingUpdate"`
	} `json:"strategy"`
	Template podTemplate `json:"template"`
}

type rendered struct {
	name string
	yaml []byte
	objs []object
}

func (r rendered) find(kind, name string) (object, bool) {
	for _, o := range r.objs {
		if o.Kind == kind && o.Metadata.Name == name {
			return o, true
		}
	}
	return object{}, false
}

func (r rendered) all(kind string) []object {
	var out []object
	for _, o := range r.objs {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func (r rendered) must(t *testing.T, kind, name string) object {
	t.Helper()
	o, ok := r.find(kind, name)
	if !ok {
		t.Fatalf("%s: no %s %s", r.name, kind, name)
	}
	return o
}

func spec[T any](t *testing.T, o object) T {
	t.Helper()
	var s T
	if err := json.Unmarshal(o.Spec, &s); err != nil {
		t.Fatalf("%s %s: %v", o.Kind, o.Metadata.Name, err)
	}
	return s
}

// render builds one kustomization in process, as `kubectl kustomize` would,
// from an in-memory copy of kubernetes/ in which each overlay's git-ignored
// secrets.env and migrate.env are the committed examples.
func render(t *testing.T, dir string) rendered {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir("kubernetes", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return mem.WriteFile("/"+path, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"staging", "production"} {
		for _, f := range []string{"secrets.env", "migrate.env"} {
			b, err := os.ReadFile(filepath.Join("kubernetes", "overlays", f+".example"))
			if err != nil {
				t.Fatal(err)
			}
			if err := mem.WriteFile("/kubernetes/overlays/"+o+"/"+f, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, "/kubernetes/"+dir)
	if err != nil {
		t.Fatalf("kustomize %s: %v", dir, err)
	}
	out, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	r := rendered{name: dir, yaml: out}
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		var o object
		if err := yaml.Unmarshal(doc, &o); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for k, v := range o.Data {
			if o.Kind == "Secret" {
				b, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					t.Fatalf("secret %s: %v", o.Metadata.Name, err)
				}
				o.Data[k] = string(b)
			}
		}
		r.objs = append(r.objs, o)
	}
	return r
}

func newValidator(t *testing.T) validator.Validator {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("kubernetes", "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := validator.New([]string{dir + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"},
		validator.Opts{Strict: true, KubernetesVersion: kubernetesVersion})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// validate returns one line per resource that is not valid.
func validate(v validator.Validator, name string, docs []byte) (problems []string, valid int) {
	for _, res := range v.Validate(name, io.NopCloser(bytes.NewReader(docs))) {
		if res.Status == validator.Valid {
			valid++
			continue
		}
		sig, _ := res.Resource.Signature()
		line := "?"
		if sig != nil {
			line = sig.Kind + " " + sig.Name
		}
		if res.Err != nil {
			line += ": " + res.Err.Error()
		}
		for _, ve := range res.ValidationErrors {
			line += "\n    " + ve.Path + ": " + ve.Msg
		}
		problems = append(problems, line)
	}
	return problems, valid
}

// TestManifestsValidate renders the base and both overlays and validates
// every resource against the Kubernetes 1.35 schemas and the ServiceMonitor
// CRD, refusing fields the schemas do not know (kubeconform -strict).
func TestManifestsValidate(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	for _, dir := range overlays {
		r := render(t, dir)
		problems, valid := validate(v, dir, r.yaml)
		for _, p := range problems {
			t.Errorf("%s: %s", dir, p)
		}
		if valid != len(r.objs) || valid < 16 {
			t.Errorf("%s: %d of %d resources valid", dir, valid, len(r.objs))
		}
		t.Logf("%s: %d resources valid", dir, valid)
	}
}

// TestSchemasRefuseMistakes: the validator has teeth, so a green
// TestManifestsValidate means something.
func TestSchemasRefuseMistakes(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	for name, c := range map[string]struct{ doc, want string }{
		"misspelt field": {`apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  replica: 2
  selector: {matchLabels: {a: b}}
  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: x, image: x}]}}`, "at '/spec': additional properties 'replica' not allowed"},
		"misspelt field deep in a pod": {`apiVersion: batch/v1
kind: Job
metadata: {name: x}
spec:
  template: {spec: {restartPolicy: Never, containers: [{name: x, image: x, readinesProbe: {httpGet: {path: /readyz, port: 8080}}}]}}`,
			"at '/spec/template/spec/containers/0': additional properties 'readinesProbe' not allowed"},
		"wrong type": {`apiVersion: v1
kind: Service
metadata: {name: x}
spec: {ports: [{port: http}]}`, "at '/spec/ports/0/port': got string, want integer"},
		"missing required": {`apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec: {template: {spec: {containers: [{name: x, image: x}]}}}`, "at '/spec': missing property 'selector'"},
		"unknown ServiceMonitor field": {`apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: x}
spec: {selector: {}, endpoints: [{prot: metrics}]}`, "at '/spec/endpoints/0': additional properties 'prot' not allowed"},
		"kind without a schema": {`apiVersion: apps/v1beta1
kind: Deployment
metadata: {name: x}`, "could not find schema for Deployment"},
	} {
		problems, _ := validate(v, name, []byte(c.doc))
		if len(problems) != 1 || !strings.Contains(problems[0], c.want) {
			t.Errorf("%s: want one problem saying %q, got %q", name, c.want, problems)
		}
	}
	// And a quantity may be a number or a string, a port a name or a number.
	ok := `apiVersion: v1
kind: Service
metadata: {name: x}
spec: {ports: [{port: 80, targetPort: http}, {port: 81, targetPort: 8081}]}`
	if problems, valid := validate(v, "ok", []byte(ok)); len(problems) != 0 || valid != 1 {
		t.Errorf("a valid Service: %q", problems)
	}
}

// envOf is what a container sees: its envFrom sources in order, then env.
func envOf(t *testing.T, r rendered, c container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		var o object
		switch {
		case from.ConfigMapRef != nil:
			o = r.must(t, "ConfigMap", from.ConfigMapRef.Name)
		case from.SecretRef != nil:
			o = r.must(t, "Secret", from.SecretRef.Name)
		}
		for k, v := range o.Data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

func portOf(c container, name string) int {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// TestManifestsProperties checks what the issue asks of each rendered
// overlay: probes, hardening, resources, the migration's order and
// privileges, the HPA, PDBs, NetworkPolicies and the ServiceMonitor, and
// that only real configuration variables are set.
func TestManifestsProperties(t *testing.T) {
	t.Parallel()
	vars := configVars(t)
	for _, dir := range overlays[1:] {
		r := render(t, dir)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			api := spec[workload](t, r.must(t, "Deployment", "coprod-api"))
			worker := spec[workload](t, r.must(t, "Deployment", "coprod-worker"))
			job := spec[workload](t, r.must(t, "Job", "coprod-migrate"))
			pods := map[string]podTemplate{"api": api.Template, "worker": worker.Template, "migrate": job.Template}

			// Every pod: not root, read-only root, no privileges, resources, one image.
			image := api.Template.Spec.Containers[0].Image
			for name, p := range pods {
				if len(p.Spec.Containers) != 1 {
					t.Fatalf("%s: %d containers", name, len(p.Spec.Containers))
				}
				c := p.Spec.Containers[0]
				if sc := p.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
					t.Errorf("%s: want runAsNonRoot and a non-zero runAsUser", name)
				}
				if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
					sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
					t.Errorf("%s: want readOnlyRootFilesystem, no privilege escalation, all capabilities dropped", name)
				}
				if p.Spec.AutomountServiceAccountToken == nil || *p.Spec.AutomountServiceAccountToken {
					t.Errorf("%s: mounts a service account token", name)
				}
				if c.Resources.Requests["cpu"] == nil || c.Resources.Requests["memory"] == nil || c.Resources.Limits["memory"] == nil {
					t.Errorf("%s: want cpu and memory requests and a memory limit, got %+v", name, c.Resources)
				}
				if c.Image != image || !strings.HasPrefix(image, "registry.example.it/coprod/coprod:") || strings.HasSuffix(image, ":latest") {
					t.Errorf("%s: image %q; want every pod on one tagged image (api: %q)", name, c.Image, image)
				}
				for k := range envOf(t, r, c) {
					if !vars[k] {
						t.Errorf("%s: sets %s, which coprod does not read (cmd/coprod/config.go)", name, k)
					}
				}
			}
			apiC, workerC, jobC := api.Template.Spec.Containers[0], worker.Template.Spec.Containers[0], job.Template.Spec.Containers[0]
			if !slices.Equal(apiC.Args, []string{"serve"}) || !slices.Equal(workerC.Args, []string{"worker"}) || !slices.Equal(jobC.Args, []string{"migrate"}) {
				t.Errorf("commands: api %q, worker %q, migrate %q", apiC.Args, workerC.Args, jobC.Args)
			}

			// Probes on the API port; metrics on 9090 for Prometheus.
			if portOf(apiC, "http") != 8080 || portOf(apiC, "metrics") != 9090 || portOf(workerC, "metrics") != 9090 {
				t.Errorf("ports: api %+v, worker %+v", apiC.Ports, workerC.Ports)
			}
			for _, p := range []struct {
				probe *probe
				path  string
			}{{apiC.ReadinessProbe, "/readyz"}, {apiC.LivenessProbe, "/healthz"}} {
				if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != "http" {
					t.Errorf("api: want an HTTP probe on %s at port http", p.path)
				}
			}
			if p := workerC.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port != "metrics" {
				t.Errorf("worker: want a liveness probe on /healthz at port metrics")
			}

			// The API and the workers run with the service role only; the owner's
			// URL reaches the migration Job alone.
			apiEnv, workerEnv, jobEnv := envOf(t, r, apiC), envOf(t, r, workerC), envOf(t, r, jobC)
			if apiEnv["COPROD_WORKERS"] != "false" {
				t.Error("api: want COPROD_WORKERS=false (jobs run in coprod-worker)")
			}
			if _, ok := apiEnv["COPROD_MIGRATE_DATABASE_URL"]; ok {
				t.Error("api: sees the schema owner's URL")
			}
			if _, ok := workerEnv["COPROD_MIGRATE_DATABASE_URL"]; ok {
				t.Error("worker: sees the schema owner's URL")
			}
			if jobEnv["COPROD_MIGRATE_DATABASE_URL"] == "" || apiEnv["COPROD_DATABASE_URL"] == "" {
				t.Error("want the owner's URL in the Job and the service's URL in the API")
			}

			// Shutdown: the grace period covers the drain and the preStop pause.
			drain, err := time.ParseDuration(apiEnv["COPROD_SHUTDOWN_TIMEOUT"])
			if err != nil {
				t.Fatal(err)
			}
			for name, p := range map[string]podTemplate{"api": api.Template, "worker": worker.Template} {
				pause := 0
				if c := p.Spec.Containers[0]; c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
					pause = c.Lifecycle.PreStop.Sleep.Seconds
				}
				if g := p.Spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g-pause)*time.Second <= drain {
					t.Errorf("%s: terminationGracePeriodSeconds must exceed preStop (%ds) + COPROD_SHUTDOWN_TIMEOUT (%s)", name, pause, drain)
				}
			}

			// Order: configuration, then the migration, then the Deployments (Argo CD
			// sync waves); rollouts never drop a ready pod before its successor is
			// ready, and serve refuses a schema that is behind, so a release whose
			// migration has not run cannot take the service down.
			wave := func(o object) int {
				w, err := strconv.Atoi(o.Metadata.Annotations["argocd.argoproj.io/sync-wave"])
				if err != nil && o.Metadata.Annotations["argocd.argoproj.io/sync-wave"] != "" {
					t.Fatal(err)
				}
				return w
			}
			jobWave := wave(r.must(t, "Job", "coprod-migrate"))
			for _, o := range r.objs {
				switch {
				case o.Kind == "ConfigMap" || o.Kind == "Secret":
					if wave(o) >= jobWave {
						t.Errorf("%s %s: sync wave %d, want before the migration's %d", o.Kind, o.Metadata.Name, wave(o), jobWave)
					}
				case o.Kind != "Job" && o.Kind != "NetworkPolicy":
					if wave(o) <= jobWave {
						t.Errorf("%s %s: sync wave %d, want after the migration's %d", o.Kind, o.Metadata.Name, wave(o), jobWave)
					}
				}
			}
			// rollout.sh picks the first two steps by label.
			for _, o := range r.objs {
				want := map[string]string{"ConfigMap": "config", "Secret": "config", "Job": "migrate"}[o.Kind]
				if got := o.Metadata.Labels["app.kubernetes.io/component"]; want != "" && got != want {
					t.Errorf("%s %s: component label %q, want %q (rollout.sh selects by it)", o.Kind, o.Metadata.Name, got, want)
				}
			}
			if job.Template.Spec.RestartPolicy != "Never" || job.BackoffLimit == nil {
				t.Error("migrate: want restartPolicy Never and a backoffLimit")
			}
			for name, w := range map[string]workload{"api": api, "worker": worker} {
				if w.Strategy.RollingUpdate == nil || w.Strategy.RollingUpdate.MaxUnavailable != float64(0) {
					t.Errorf("%s: want rollingUpdate.maxUnavailable 0", name)
				}
			}

			// The HPA owns the API's replica count.
			hpa := spec[struct {
				ScaleTargetRef struct{ Kind, Name string } `json:"scaleTargetRef"`
				MinReplicas    int                         `json:"minReplicas"`
				MaxReplicas    int                         `json:"maxReplicas"`
				Metrics        []any                       `json:"metrics"`
			}](t, r.must(t, "HorizontalPodAutoscaler", "coprod-api"))
			if hpa.ScaleTargetRef.Kind != "Deployment" || hpa.ScaleTargetRef.Name != "coprod-api" || hpa.MinReplicas < 1 || hpa.MaxReplicas <= hpa.MinReplicas || len(hpa.Metrics) == 0 {
				t.Errorf("hpa: %+v", hpa)
			}
			if api.Replicas != nil {
				t.Error("api: sets replicas, which would fight the HPA on every apply")
			}
			if dir == "overlays/production" && (hpa.MinReplicas < 3 || worker.Replicas == nil || *worker.Replicas < 2) {
				t.Errorf("production: want at least 3 API replicas and 2 workers")
			}

			// PDBs cover the API and the workers.
			for name, p := range map[string]podTemplate{"api": api.Template, "worker": worker.Template} {
				covered := false
				for _, o := range r.all("PodDisruptionBudget") {
					s := spec[struct {
						Selector       selector `json:"selector"`
						MaxUnavailable any      `json:"maxUnavailable"`
						MinAvailable   any      `json:"minAvailable"`
					}](t, o)
					covered = covered || s.Selector.matches(p.Metadata.Labels) && (s.MaxUnavailable != nil || s.MinAvailable != nil)
				}
				if !covered {
					t.Errorf("%s: no PodDisruptionBudget", name)
				}
			}

			// NetworkPolicies: default deny, then the API port and metrics in; DNS
			// and PostgreSQL out (and only those for the migration).
			type rule struct {
				Ports []struct {
					Port     any    `json:"port"`
					Protocol string `json:"protocol"`
				} `json:"ports"`
			}
			type netpol struct {
				PodSelector selector `json:"podSelector"`
				PolicyTypes []string `json:"policyTypes"`
				Ingress     []rule   `json:"ingress"`
				Egress      []rule   `json:"egress"`
			}
			allowed := func(labels map[string]string) (in, out map[int]bool, denied bool) {
				in, out = map[int]bool{}, map[int]bool{}
				for _, o := range r.all("NetworkPolicy") {
					np := spec[netpol](t, o)
					if !np.PodSelector.matches(labels) {
						continue
					}
					denied = denied || len(np.Ingress) == 0 && len(np.Egress) == 0 && slices.Equal(np.PolicyTypes, []string{"Ingress", "Egress"})
					for dst, rules := range map[*map[int]bool][]rule{&in: np.Ingress, &out: np.Egress} {
						for _, ru := range rules {
							for _, p := range ru.Ports {
								if n, ok := p.Port.(float64); ok {
									(*dst)[int(n)] = true
								}
							}
						}
					}
				}
				return in, out, denied
			}
			for name, c := range map[string]struct {
				labels         map[string]string
				in, out, notIn []int
			}{
				"api":     {api.Template.Metadata.Labels, []int{8080, 9090}, []int{53, 5432, 443, 587}, nil},
				"worker":  {worker.Template.Metadata.Labels, []int{9090}, []int{53, 5432, 443, 587}, []int{8080}},
				"migrate": {job.Template.Metadata.Labels, nil, []int{53, 5432}, []int{8080, 9090}},
			} {
				in, out, denied := allowed(c.labels)
				if !denied {
					t.Errorf("%s: no default-deny NetworkPolicy", name)
				}
				for _, p := range c.in {
					if !in[p] {
						t.Errorf("%s: ingress to %d not allowed", name, p)
					}
				}
				for _, p := range c.notIn {
					if in[p] {
						t.Errorf("%s: ingress to %d allowed", name, p)
					}
				}
				for _, p := range c.out {
					if !out[p] {
						t.Errorf("%s: egress to %d not allowed", name, p)
					}
				}
				if name == "migrate" && len(out) != 2 {
					t.Errorf("migrate: egress to %v, want DNS and PostgreSQL only", out)
				}
			}

			// The ServiceMonitor reaches port 9090 named metrics of both kinds of pod.
			sm := spec[struct {
				Selector  selector `json:"selector"`
				Endpoints []struct {
					Port string `json:"port"`
					Path string `json:"path"`
				} `json:"endpoints"`
			}](t, r.must(t, "ServiceMonitor", "coprod"))
			if len(sm.Endpoints) != 1 || sm.Endpoints[0].Port != "metrics" || sm.Endpoints[0].Path != "/metrics" {
				t.Errorf("servicemonitor endpoints: %+v", sm.Endpoints)
			}
			scraped := map[string]bool{}
			for _, o := range r.all("Service") {
				if !sm.Selector.matches(o.Metadata.Labels) {
					continue
				}
				svc := spec[struct {
					Selector map[string]string `json:"selector"`
					Ports    []struct {
						Name       string `json:"name"`
						TargetPort any    `json:"targetPort"`
					} `json:"ports"`
				}](t, o)
				for _, p := range svc.Ports {
					if p.Name != "metrics" {
						continue
					}
					for name, pod := range map[string]podTemplate{"api": api.Template, "worker": worker.Template} {
						if (selector{MatchLabels: svc.Selector}).matches(pod.Metadata.Labels) && p.TargetPort == "metrics" && portOf(pod.Spec.Containers[0], "metrics") == 9090 {
							scraped[name] = true
						}
					}
				}
			}
			if !scraped["api"] || !scraped["worker"] {
				t.Errorf("servicemonitor scrapes %v, want api and worker", scraped)
			}

			// Everything lands in the overlay's namespace.
			for _, o := range r.objs {
				if o.Metadata.Namespace == "" || o.Metadata.Namespace != r.objs[0].Metadata.Namespace {
					t.Errorf("%s %s: namespace %q", o.Kind, o.Metadata.Name, o.Metadata.Namespace)
				}
			}
		})
	}
}

// TestRolloutScriptOrder: with plain kubectl, the Job is applied and waited
// for before the Deployments are.
func TestRolloutScriptOrder(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("kubernetes", "rollout.sh"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	steps := []string{
		"--selector app.kubernetes.io/component=config",
		"delete job coprod-migrate",
		"--selector app.kubernetes.io/component=migrate",
		"wait --for=condition=complete --timeout=15m job/coprod-migrate",
		"kubectl apply -k \"$overlay\"\n",
		"rollout status deployment/coprod-api",
	}
	at := 0
	for _, step := range steps {
		i := strings.Index(s[at:], step)
		if i < 0 {
			t.Fatalf("rollout.sh: %q missing or out of order", step)
		}
		at += i + len(step)
	}
	if out, err := runSh(t, "-n", filepath.Join("kubernetes", "rollout.sh")); err != nil {
		t.Errorf("sh -n rollout.sh: %v\n%s", err, out)
	}
}

// TestManifestConfigRuns starts the production overlay's processes with the
// environment the manifests give them (database URLs and key swapped for a
// test database's) against real PostgreSQL: the migration Job's, the API's
// (both probes answer 200) and the worker's (River starts, then drains on
// SIGTERM).
func TestManifestConfigRuns(t *testing.T) {
	t.Parallel()
	r := render(t, "overlays/production")
	db := newDB(t)
	key := newKey(t)
	envFor := func(kind, name string) map[string]string {
		w := spec[workload](t, r.must(t, kind, name))
		env := envOf(t, r, w.Template.Spec.Containers[0])
		for k := range env {
			switch k {
			case "COPROD_DATABASE_URL":
				env[k] = db.AppURL
			case "COPROD_MIGRATE_DATABASE_URL":
				env[k] = db.OwnerURL
			case "COPROD_SECRETS_KEY":
				env[k] = key
			}
		}
		return env
	}
	if out, err := runCoprod(t, envFor("Job", "coprod-migrate"), "migrate"); err != nil {
		t.Fatalf("migrate with the Job's environment: %v\n%s", err, out)
	}
	serveReady(t, envFor("Deployment", "coprod-api"))
	env := envFor("Deployment", "coprod-worker")
	env["COPROD_BLOB_DIR"] = t.TempDir()
	_, stop := startCoprod(t, env, "River client started", "worker")
	stop()
}
