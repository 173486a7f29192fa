package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/mqttspec/mqttspec/conformance"
)

func TestTestClientDriverConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		f       testClientFlags
		wantErr string
		check   func(t *testing.T, f testClientFlags)
	}{
		{name: "cmd without templates", f: testClientFlags{driver: "cmd"}, wantErr: "needs --cmd"},
		{name: "templates without cmd", f: testClientFlags{driver: "mosquitto", cmd: "x {client_id}"}, wantErr: "need --driver cmd"},
		{name: "refusal codes without cmd", f: testClientFlags{driver: "reference", cmdRefusals: []int{2}}, wantErr: "needs --driver cmd"},
		{name: "refusal code out of range", f: testClientFlags{driver: "cmd", cmd: "x {client_id}", cmdRefusals: []int{0}}, wantErr: "1 to 255"},
		{name: "refusal codes passed on", f: testClientFlags{driver: "cmd", cmdPublish: "p {client_id}", cmdRefusals: []int{2, 3}},
			check: func(t *testing.T, f testClientFlags) {
				cfg, _ := f.driverConfig()
				if !slices.Equal(cfg.RefusalExitCodes, []int{2, 3}) || cfg.Templates[conformance.OpPublish] != "p {client_id}" {
					t.Errorf("config %+v", cfg)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.f.driverConfig()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, tc.f)
			}
		})
	}
}
