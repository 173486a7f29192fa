package fuzz

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/fuzz/gen"
)

var diffExecs = flag.Int("diff.execs", 0, "run the differential campaign with this many inputs per peer (0: skip)")

// diffInput draws one input for a differential campaign: a generated packet (valid or broken
// in one way), a corpus packet with byte-level mutations, or a header with random body bytes.
func diffInput(r *rand.Rand, v codec.Version, side codec.Side, seeds []gen.Seed) []byte {
	switch k := r.Intn(10); {
	case k < 4:
		in := make([]byte, 16+r.Intn(256))
		r.Read(in)
		return gen.Packet(in, gen.Options{Version: v, Sender: side, Defect: gen.Any, MaxField: 512}).Bytes
	case k < 8:
		b := append([]byte(nil), seeds[r.Intn(len(seeds))].Case.Bytes...)
		for n := 1 + r.Intn(4); n > 0 && len(b) > 0; n-- {
			switch r.Intn(5) {
			case 0:
				b[r.Intn(len(b))] ^= 1 << r.Intn(8)
			case 1:
				b[r.Intn(len(b))] = byte(r.Intn(256))
			case 2:
				i := r.Intn(len(b))
				b = append(b[:i], b[i+1:]...)
			case 3:
				i := r.Intn(len(b) + 1)
				b = append(b[:i], append([]byte{byte(r.Intn(256))}, b[i:]...)...)
			case 4:
				b = b[:r.Intn(len(b)+1)]
			}
		}
		return b
	}
	body := make([]byte, r.Intn(40))
	r.Read(body)
	return append([]byte{byte(r.Intn(256)), byte(len(body))}, body...)
}

type keyStats struct {
	class   string
	count   int
	example []byte
	min     []byte
	detail  string
	version codec.Version
}

// TestDiffCampaign is the bounded differential campaign (go test ./fuzz -run TestDiffCampaign
// -diff.execs 1000000 [-update]): it counts every disagreement per class and key for each peer,
// minimizes one reproducer per key, prints the table docs/findings.md is written from, and with
// -update stores the reproducers as regression seeds of the differential targets.
func TestDiffCampaign(t *testing.T) {
	if *diffExecs == 0 {
		t.Skip("campaign not requested (-diff.execs N)")
	}
	for _, pr := range []*peer{pahoPeer, mochiPeer} {
		r := rand.New(rand.NewSource(1))
		seeds := map[codec.Version][]gen.Seed{}
		for _, v := range pr.versions {
			seeds[v] = gen.Corpus(v)
		}
		classes := map[string]int{}
		keys := map[string]*keyStats{}
		start := time.Now()
		agree := 0
		for i := 0; i < *diffExecs; i++ {
			v := pr.versions[r.Intn(len(pr.versions))]
			b := diffInput(r, v, pr.sender, seeds[v])
			d := compare(pr, v, b)
			if d == nil {
				agree++
				continue
			}
			classes[d.class]++
			ks := keys[d.key]
			if ks == nil {
				ks = &keyStats{class: d.class, example: b, version: v}
				// Start from the smallest corpus packet showing the same disagreement, if any:
				// corpus packets are small and well framed, which minimizes better.
				for _, s := range seeds[v] {
					if len(s.Case.Bytes) < len(b) {
						if d2 := compare(pr, v, s.Case.Bytes); d2 != nil && d2.key == d.key {
							b = s.Case.Bytes
						}
					}
				}
				ks.min = minimizePacket(b, func(c []byte) bool {
					d2 := compare(pr, v, c)
					return d2 != nil && d2.key == d.key
				})
				ks.detail = compare(pr, v, ks.min).detail
				keys[d.key] = ks
			}
			ks.count++
		}
		elapsed := time.Since(start)
		// Shorter reproducers: generated packets with tiny fields, kept when they show a known
		// key in fewer bytes (not counted in the campaign's numbers).
		for i := 0; i < 200000; i++ {
			v := pr.versions[r.Intn(len(pr.versions))]
			in := make([]byte, 8+r.Intn(64))
			r.Read(in)
			b := gen.Packet(in, gen.Options{Version: v, Sender: pr.sender, Defect: gen.Any, MaxField: 3}).Bytes
			d := compare(pr, v, b)
			if d == nil || keys[d.key] == nil || len(b) >= len(keys[d.key].min) {
				continue
			}
			ks := keys[d.key]
			ks.min = minimizePacket(b, func(c []byte) bool {
				d2 := compare(pr, v, c)
				return d2 != nil && d2.key == d.key
			})
			ks.version = v
			ks.detail = compare(pr, v, ks.min).detail
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "\n%s: %d inputs in %v (%.0f/s), %d agreements\n", pr.name, *diffExecs, elapsed.Round(time.Millisecond),
			float64(*diffExecs)/elapsed.Seconds(), agree)
		for _, c := range []string{peerAcceptsInvalid, peerRejectsValid, fieldsDiffer, peerPanics, "codec-error"} {
			fmt.Fprintf(&sb, "  %-22s %d\n", c, classes[c])
		}
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		dir := filepath.Join("testdata", "fuzz", "FuzzDiff"+pr.target)
		for _, k := range names {
			ks := keys[k]
			known := "NEW"
			if pi := knownDiff(pr.name, k); pi != nil {
				known = pi.statement
			}
			fmt.Fprintf(&sb, "  %7d  %-70s [%s] v%v min % X\n           %s\n", ks.count, k, known, ks.version, ks.min, ks.detail)
			if *update {
				os.MkdirAll(dir, 0o755)
				sel := byte(0)
				for i, v := range pr.versions {
					if v == ks.version {
						sel = byte(i)
					}
				}
				name := "regress-" + sanitize(strings.ReplaceAll(k, ":", "-"))
				if len(name) > 100 {
					name = name[:100]
				}
				os.WriteFile(filepath.Join(dir, name), marshalSeed(append([]byte{sel}, ks.min...)), 0o644)
			}
		}
		t.Log(sb.String())
	}
}
