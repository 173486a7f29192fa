package conformance

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
)

// repoRoot is the path prefix of this repository's files as the compiler recorded them (an
// absolute directory, or the module path under -trimpath), found from this file's own path.
var repoRoot = func() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	return strings.TrimSuffix(filepath.ToSlash(file), "conformance/source.go")
}()

// relSource renders a file and line as "path:line" relative to the repository root.
func relSource(file string, line int) string {
	return fmt.Sprintf("%s:%d", strings.TrimPrefix(filepath.ToSlash(file), repoRoot), line)
}

// CallerSource returns the "file:line" (relative to the repository root) of the caller skip
// frames above the function calling CallerSource: 0 is that function's caller.
func CallerSource(skip int) string {
	_, file, line, ok := runtime.Caller(skip + 2)
	if !ok {
		return ""
	}
	return relSource(file, line)
}

// enginePackage prefixes the names of this package's functions (and not of its subpackages,
// whose names continue with "/").
const enginePackage = "github.com/mqttspec/mqttspec/conformance."

// caseSource locates the expectation that ended a case: the innermost frame of the calling
// goroutine outside this package and the Go runtime (the case's line, or a catalog helper's),
// followed by the outermost such frame — the line in the case's Run — when that differs.
func caseSource() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var inner, outer string
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, enginePackage) && !strings.HasPrefix(f.Function, "runtime.") && f.File != "" {
			outer = relSource(f.File, f.Line)
			if inner == "" {
				inner = outer
			}
		}
		if !more {
			break
		}
	}
	if outer != inner {
		return inner + ", called from " + outer
	}
	return inner
}
