package netfuzz

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"
)

// Pattern is the class without the codec's verdict on the input: the first differing packet
// type and each target's items of it. Classes of one pattern differ only in the rule the input
// breaks, and are usually one behaviour.
func (c *DiffClass) Pattern() string {
	if _, rest, ok := strings.Cut(c.Name, " | "); ok {
		return rest
	}
	return c.Name
}

// diffScript filters the classes by the target the verdict blames. It is tiny and inline; the
// page's Content-Security-Policy admits exactly this script by its hash and forbids every fetch.
const diffScript = `(function(){
var sel=document.getElementById('dev');
function apply(){
  var t=sel.value,shown=0;
  document.querySelectorAll('section.pattern').forEach(function(p){
    var any=0;
    p.querySelectorAll('article.class').forEach(function(c){
      var devs=(c.getAttribute('data-deviates')||'').split(' ');
      var on=t===''||devs.indexOf(t)>=0;
      c.hidden=!on; if(on){any++;shown++;}
    });
    p.hidden=any===0;
  });
  document.getElementById('shown').textContent=String(shown);
}
sel.addEventListener('change',apply);
apply();
document.documentElement.setAttribute('data-ready','1');
})();`

const diffCSS = `body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:78em;padding:0 1em;color:#1b1b1b}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
code,pre,.sig{font-family:ui-monospace,monospace;font-size:12.5px}
pre{background:#f5f5f5;padding:.5em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.n{text-align:right}tr.dev td{background:#fff1f0}
article.class{border:1px solid #ddd;border-radius:4px;padding:.4em .8em;margin:.8em 0}
.verdict{font-weight:600}.muted{color:#666}`

type diffHTMLAnswer struct {
	Target, Signature, End string
	Oracle                 []string
	Deviates               bool
}

type diffHTMLClass struct {
	Index     int
	Name      string
	Count     int
	Codec     string
	Verdict   string
	Deviates  string // space-separated target names, for the filter
	Version   string
	Minimized bool
	Original  int
	Size      int
	File      string
	Steps     []string
	Answers   []diffHTMLAnswer
}

type diffHTMLPattern struct {
	Pattern string
	Count   int
	Classes []diffHTMLClass
}

type diffHTMLPage struct {
	CSP, CSS    string
	Script      template.JS
	Targets     []string
	Seed        int64
	Execs       int
	Elapsed     string
	PerSec      string
	Splits      int
	Stable      int
	NumClasses  int
	Patterns    []diffHTMLPattern
	DevCounts   map[string]int
	NumPatterns int
}

var diffTmpl = template.Must(template.New("diff").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>mqttspec fuzz diff: {{range $i, $t := .Targets}}{{if $i}}, {{end}}{{$t}}{{end}}</title>
<style>{{.CSS}}</style></head>
<body>
<h1>mqttspec fuzz diff</h1>
<p>Targets: {{range $i, $t := .Targets}}{{if $i}}, {{end}}<b>{{$t}}</b>{{end}}. Seed <code>{{.Seed}}</code>.</p>
<table id="numbers"><tr><th>Inputs</th><th>Time</th><th>Inputs/s</th><th>Splits</th><th>Reproduced</th><th>Classes</th><th>Patterns</th></tr>
<tr><td class="n">{{.Execs}}</td><td class="n">{{.Elapsed}}</td><td class="n">{{.PerSec}}</td><td class="n">{{.Splits}}</td><td class="n">{{.Stable}}</td><td class="n">{{.NumClasses}}</td><td class="n">{{.NumPatterns}}</td></tr></table>
{{if not .Patterns}}<p id="agree">The targets answered every input alike.</p>{{end}}
<p><label for="dev">Show classes where this target deviates:</label>
<select id="dev"><option value="">every target</option>{{range .Targets}}<option value="{{.}}">{{.}} ({{index $.DevCounts .}})</option>{{end}}</select>
<span class="muted"><span id="shown">{{.NumClasses}}</span> of {{.NumClasses}} classes shown</span></p>
<p class="muted">Classes are grouped by pattern: the first packet type on which the answers differ and what each target sent of it. A class adds the strict codec's verdict on the input. Each class shows its first split (minimized when the run minimized), every target's normalised answer and the verdict: the targets the spec checks of fuzz/oracle blame, else the ones outside the majority.</p>
{{range .Patterns}}<section class="pattern"><h2><code>{{.Pattern}}</code> <span class="muted">({{.Count}} input(s))</span></h2>
{{range .Classes}}<article class="class" id="c{{.Index}}" data-deviates="{{.Deviates}}">
<p><b>#{{.Index}}</b> · {{.Count}} input(s) · MQTT {{.Version}} · <code>{{.Name}}</code></p>
<p>Codec: <span class="codec">{{.Codec}}</span></p>
<p class="verdict">Verdict: {{.Verdict}}</p>
<p>Input{{if .Minimized}} (minimized from {{.Original}} to {{.Size}} bytes){{else}} ({{.Size}} bytes){{end}}{{if .File}}, reproducer <code>{{.File}}</code>{{end}}:</p>
<pre class="hex">{{range .Steps}}{{.}}
{{end}}</pre>
<table class="answers"><tr><th>Target</th><th>Answer signature</th><th>End</th><th>Oracle</th></tr>
{{range .Answers}}<tr{{if .Deviates}} class="dev"{{end}} data-target="{{.Target}}"><td>{{.Target}}{{if .Deviates}} ✗{{end}}</td><td class="sig">{{.Signature}}</td><td>{{.End}}</td><td>{{range .Oracle}}<div>{{.}}</div>{{end}}</td></tr>
{{end}}</table>
</article>
{{end}}</section>
{{end}}<script>{{.Script}}</script>
</body></html>
`))

// hexSpaced writes bytes as spaced upper-case hex, the form docs/findings.md uses.
func hexSpaced(h string) string {
	var b strings.Builder
	for i := 0; i+1 < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.ToUpper(h[i : i+2]))
	}
	return b.String()
}

// HTML renders the report as one self-contained page: no external resource, inline CSS and
// script admitted by a Content-Security-Policy that forbids every request, the classes grouped
// by pattern, each with every target's answer, the input's bytes in hex, the codec's cited
// statement and the verdict, and a filter by the target that deviates.
func (r *DiffReport) HTML(w io.Writer) error {
	sum := sha256.Sum256([]byte(diffScript))
	p := diffHTMLPage{
		CSP: "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
			"'; style-src 'unsafe-inline'; img-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'",
		CSS: diffCSS, Script: template.JS(diffScript), Targets: r.Targets, Seed: r.Seed, Execs: r.Execs,
		Elapsed: r.Elapsed.Round(time.Second).String(), PerSec: fmt.Sprintf("%.1f", r.ExecsPerSec()),
		Splits: r.Splits, Stable: r.Stable, NumClasses: len(r.Classes), DevCounts: map[string]int{},
	}
	for _, t := range r.Targets {
		p.DevCounts[t] = 0
	}
	byPattern := map[string]*diffHTMLPattern{}
	var order []string
	for i, c := range r.Classes {
		e := c.Example
		if e == nil {
			continue
		}
		dev := map[string]bool{}
		for _, t := range e.Deviating {
			dev[t] = true
			p.DevCounts[t]++
		}
		hc := diffHTMLClass{Index: i + 1, Name: c.Name, Count: c.Count, Codec: e.Codec, Verdict: e.Verdict,
			Deviates: strings.Join(e.Deviating, " "), Version: e.Version, Minimized: e.Minimized,
			Original: e.Original, File: e.File}
		for _, s := range e.Steps {
			hc.Size += len(s.Hex) / 2
			line := hexSpaced(s.Hex)
			if s.DelayMS > 0 {
				line = fmt.Sprintf("(wait %d ms) %s", s.DelayMS, line)
			}
			hc.Steps = append(hc.Steps, line)
		}
		for _, t := range r.Targets {
			a := e.Answers[t]
			hc.Answers = append(hc.Answers, diffHTMLAnswer{Target: t, Signature: strings.Join(a.Packets, " "),
				End: a.End, Oracle: a.Oracle, Deviates: dev[t]})
		}
		pat := c.Pattern()
		g := byPattern[pat]
		if g == nil {
			g = &diffHTMLPattern{Pattern: pat}
			byPattern[pat] = g
			order = append(order, pat)
		}
		g.Count += c.Count
		g.Classes = append(g.Classes, hc)
	}
	// Patterns with the most inputs first; classes within keep the report's order.
	sort.SliceStable(order, func(i, j int) bool { return byPattern[order[i]].Count > byPattern[order[j]].Count })
	for _, pat := range order {
		p.Patterns = append(p.Patterns, *byPattern[pat])
	}
	p.NumPatterns = len(p.Patterns)
	var buf bytes.Buffer
	if err := diffTmpl.Execute(&buf, p); err != nil {
		return fmt.Errorf("fuzz diff html: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
