package deploy_test

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const testVersion = "deploy-test"

// buildLine is the Makefile's build command for VERSION=testVersion, as make
// would run it.
func buildLine(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("make", "-s", "-n", "-C", root, "build", "VERSION="+testVersion, "GO=go").Output()
	if err != nil {
		t.Fatalf("make -n build: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, " build ") {
			return strings.TrimSpace(l)
		}
	}
	t.Fatalf("no go build in make -n build:\n%s", out)
	return ""
}

// coprodBinary builds cmd/coprod once per test process with the Makefile's
// command, so every test runs what the image ships.
func coprodBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		line := buildLine(t)
		binPath = filepath.Join(binDir, "coprod")
		line = strings.Replace(line, "-o bin/coprod", "-o "+binPath, 1)
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{line, string(out), err}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type buildError struct {
	line, out string
	err       error
}

func (e *buildError) Error() string { return e.line + ": " + e.err.Error() + "\n" + e.out }

// TestImageBuildsLikeMake: the Containerfile compiles with the Makefile's
// command, flag for flag, and the result is a static, stripped binary that
// runs on an image without libc.
func TestImageBuildsLikeMake(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("container", "Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	file := string(b)
	run := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*)$`).FindStringSubmatch(file)
	if run == nil {
		t.Fatal("Containerfile: no `RUN CGO_ENABLED=0 go build` line")
	}
	got := strings.ReplaceAll(run[1], "${VERSION}", testVersion)
	got = strings.Replace(got, "-o /out/coprod", "-o bin/coprod", 1)
	if want := buildLine(t); got != want {
		t.Errorf("the image and make build differ:\n Containerfile: %s\n Makefile:      %s", got, want)
	}
	// The builder's Go is the one go.mod asks for.
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if goVersion == nil || !strings.Contains(file, "ARG GO_VERSION="+string(goVersion[1])+"\n") {
		t.Errorf("Containerfile: want ARG GO_VERSION=%s (go.mod)", goVersion[1])
	}
	// The final stage: no libc, not root, coprod as the entry point.
	final := file[strings.LastIndex(file, "\nFROM "):]
	for _, want := range []string{"FROM gcr.io/distroless/static", "\nUSER 65532:65532\n", `ENTRYPOINT ["/usr/local/bin/coprod"]`, "COPY --from=build /out/coprod /usr/local/bin/coprod"} {
		if !strings.Contains(final, want) {
			t.Errorf("Containerfile's final stage lacks %q", want)
		}
	}

	bin := coprodBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader: not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary links %v (%v): want none", libs, err)
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary has a symbol table: -s was not applied")
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "coprod "+testVersion+" ") {
		t.Errorf("coprod version = %q, %v; want the version set by -X main.version", out, err)
	}
}
