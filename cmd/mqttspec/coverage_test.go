package main

import (
	"bytes"
	"testing"

	"github.com/mqttspec/mqttspec/reports"
)

func TestPrintSkipReasons(t *testing.T) {
	tests := []struct {
		name  string
		skips []reports.StatementSkip
		want  string
	}{
		{"none", nil, ""},
		{"most frequent first", []reports.StatementSkip{
			{ID: "A", Reasons: []string{"needs retain"}},
			{ID: "B", Reasons: []string{"needs --auth-method", "needs retain"}},
			{ID: "C", Reasons: []string{"needs --auth-method"}},
			{ID: "D", Reasons: []string{"needs --auth-method"}},
		}, "  not run, 3 statement(s): needs --auth-method\n  not run, 2 statement(s): needs retain\n"},
		{"at most five", []reports.StatementSkip{{ID: "A", Reasons: []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7"}}},
			"  not run, 1 statement(s): r1\n  not run, 1 statement(s): r2\n  not run, 1 statement(s): r3\n  not run, 1 statement(s): r4\n" +
				"  not run, 1 statement(s): r5\n  … and 2 more skip reasons (results.json coverage.skips)\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		printSkipReasons(&b, tt.skips)
		if b.String() != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, b.String(), tt.want)
		}
	}
}
