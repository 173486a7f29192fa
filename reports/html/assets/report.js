// mqttspec report: filters, case details, transcripts. No network access: the data travels in
// the page (script#mqttspec-data), gzip-compressed, and is inflated with DecompressionStream.
(function () {
  'use strict';
  var doc = document;
  var started = performance.now();
  var dataPromise = null;

  function loadData() {
    if (!dataPromise) dataPromise = decodeData();
    return dataPromise;
  }

  async function decodeData() {
    var el = doc.getElementById('mqttspec-data');
    var island = JSON.parse(el.textContent);
    if (island.json) return island.json;
    if (typeof DecompressionStream === 'undefined') {
      throw new Error('This browser cannot read the embedded transcripts (no DecompressionStream); they are in results.json.');
    }
    var bin = atob(island.gz);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return JSON.parse(await new Response(stream).text());
  }

  function el(tag, cls, text) {
    var e = doc.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // hexDump formats hex digits as offset, 16 bytes, ASCII: "0000  10 14 00 04 …  |..MQTT|".
  function hexDump(hex) {
    var lines = [];
    for (var off = 0; off < hex.length; off += 32) {
      var chunk = hex.slice(off, off + 32), h = [], a = '';
      for (var k = 0; k < chunk.length; k += 2) {
        var b = parseInt(chunk.substr(k, 2), 16);
        h.push(chunk.substr(k, 2));
        a += b >= 32 && b < 127 ? String.fromCharCode(b) : '.';
      }
      var hs = h.slice(0, 8).join(' ') + (h.length > 8 ? '  ' + h.slice(8).join(' ') : '');
      var o = (off / 2).toString(16);
      lines.push('0000'.slice(o.length) + o + '  ' + (hs + ' '.repeat(49)).slice(0, 49) + ' |' + a + '|');
    }
    return lines.join('\n');
  }

  function fmtMs(ms) {
    if (ms < 10) return ms.toFixed(1) + ' ms';
    if (ms < 1000) return Math.round(ms) + ' ms';
    return (ms / 1000).toFixed(1) + ' s';
  }

  var arrows = { send: '→ send', recv: '← recv', note: '· note' };

  function transcriptTable(c) {
    var frag = doc.createDocumentFragment();
    var ev = c.t || [];
    if (!ev.length) {
      frag.appendChild(el('p', 'muted', 'No transcript.'));
      return frag;
    }
    var table = el('table', 'txt');
    var head = el('tr');
    ['t (ms)', 'conn', 'dir', 'packet / bytes'].forEach(function (h) { head.appendChild(el('th', null, h)); });
    table.appendChild(el('thead')).appendChild(head);
    var body = el('tbody');
    ev.forEach(function (e) {
      var tr = el('tr', 'ev ev-' + e[2]);
      tr.appendChild(el('td', 'num', '+' + Number(e[0]).toFixed(3)));
      tr.appendChild(el('td', null, e[1]));
      tr.appendChild(el('td', 'dir', arrows[e[2]] || e[2]));
      var td = el('td');
      td.appendChild(el('div', 'pkt', e[4] || ''));
      if (e[3]) {
        td.appendChild(el('pre', 'hex', hexDump(e[3])));
        if (e[5]) td.appendChild(el('div', 'cut', '… ' + e[5] + ' bytes in all; the full bytes are in results.json'));
      }
      tr.appendChild(td);
      body.appendChild(tr);
    });
    table.appendChild(body);
    frag.appendChild(table);
    if (c.n && c.n > ev.length) {
      frag.appendChild(el('p', 'cut', 'Showing the first ' + ev.length + ' of ' + c.n + ' events; the full transcript is in results.json.'));
    }
    return frag;
  }

  function fillTranscript(box) {
    if (box.dataset.done) return Promise.resolve();
    box.dataset.done = 'loading';
    return loadData().then(function (data) {
      var c = data.runs[+box.dataset.run].cases[+box.dataset.i];
      box.textContent = '';
      box.appendChild(transcriptTable(c));
      box.dataset.done = '1';
    }, function (err) {
      box.textContent = '';
      box.appendChild(el('p', 'cut', err.message));
      box.dataset.done = 'error';
    });
  }

  // Filters, shared by both views: a row (tr.case) is shown when its status (or, in a
  // comparison, one of its cells' statuses) is checked, its version and level match, every
  // search word is in its search text, and (comparison) it differs when asked.
  var rows = Array.prototype.slice.call(doc.querySelectorAll('tr.case'));
  var sections = Array.prototype.slice.call(doc.querySelectorAll('section.sect'));
  var rowSection = rows.map(function (r) { return sections.indexOf(r.closest('section.sect')); });
  var chips = Array.prototype.slice.call(doc.querySelectorAll('#toolbar input[name=status]'));
  var fVersion = doc.getElementById('f-version');
  var fLevel = doc.getElementById('f-level');
  var fText = doc.getElementById('f-text');
  var fDiff = doc.getElementById('f-diff');
  var fUnstable = doc.getElementById('f-unstable');
  var fSection = doc.getElementById('f-section');
  var shownEl = doc.getElementById('shown');

  function apply() {
    var want = {};
    chips.forEach(function (c) { want[c.value] = c.checked; });
    var v = fVersion ? fVersion.value : '', l = fLevel ? fLevel.value : '';
    var words = fText ? fText.value.trim().toLowerCase().split(/\s+/).filter(Boolean) : [];
    var onlyDiff = fDiff && fDiff.checked;
    var onlyUnstable = fUnstable && fUnstable.checked;
    var sect = fSection ? fSection.value : '';
    var shown = 0, perSection = sections.map(function () { return 0; });
    for (var k = 0; k < rows.length; k++) {
      var r = rows[k], d = r.dataset, ok;
      if (d.ss !== undefined) {
        ok = d.ss.split(' ').some(function (s) { return want[s]; });
        if (onlyDiff && !d.diff) ok = false;
        if (onlyUnstable && !d.unstable) ok = false;
      } else {
        ok = !!want[d.s];
      }
      if (ok && sect && sections[rowSection[k]].id !== sect) ok = false;
      if (ok && v && d.v !== v) ok = false;
      if (ok && l && d.l !== l) ok = false;
      if (ok && words.length) {
        for (var w = 0; w < words.length; w++) {
          if (d.q.indexOf(words[w]) < 0) { ok = false; break; }
        }
      }
      r.hidden = !ok;
      var det = r.nextElementSibling;
      if (det && det.classList.contains('detail')) det.hidden = !ok || !r.classList.contains('open');
      if (ok) { shown++; perSection[rowSection[k]]++; }
    }
    sections.forEach(function (s, i) {
      s.hidden = perSection[i] === 0;
      var n = s.querySelector('.sect-shown');
      if (n) n.textContent = perSection[i];
    });
    if (shownEl) shownEl.textContent = shown;
  }

  var timer = 0;
  function applySoon() {
    clearTimeout(timer);
    timer = setTimeout(apply, 80);
  }

  chips.forEach(function (c) { c.addEventListener('change', apply); });
  [fVersion, fLevel, fDiff, fUnstable, fSection].forEach(function (e) { if (e) e.addEventListener('change', apply); });
  if (fText) fText.addEventListener('input', applySoon);
  var reset = doc.getElementById('f-reset');
  if (reset) reset.addEventListener('click', function () {
    chips.forEach(function (c) { c.checked = true; });
    if (fVersion) fVersion.value = '';
    if (fLevel) fLevel.value = '';
    if (fText) fText.value = '';
    if (fDiff) fDiff.checked = false;
    if (fUnstable) fUnstable.checked = false;
    if (fSection) fSection.value = '';
    apply();
  });

  // Single report: expand a case.
  function toggle(row, open) {
    var det = doc.getElementById('d' + row.dataset.i);
    var btn = row.querySelector('.toggle');
    if (open === undefined) open = !row.classList.contains('open');
    row.classList.toggle('open', open);
    if (btn) btn.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (det) {
      det.hidden = !open;
      var box = det.querySelector('.tx');
      if (open && box) return fillTranscript(box);
    }
    return Promise.resolve();
  }

  var cases = doc.getElementById('cases');
  if (cases) cases.addEventListener('click', function (ev) {
    var t = ev.target;
    var cell = t.closest('button.badge[data-run]');
    if (cell) { openCell(+cell.dataset.run, +cell.dataset.i, cell); return; }
    var row = t.closest('tr.case');
    if (row && row.dataset.i !== undefined && !t.closest('a, code')) toggle(row);
  });

  // Coverage matrix: a statement button lists the cases that cite it.
  doc.querySelectorAll('.mver').forEach(function (m) {
    m.addEventListener('click', function (ev) {
      var b = ev.target.closest('button[data-stmt]');
      if (!b) return;
      chips.forEach(function (c) { c.checked = true; });
      if (fVersion) fVersion.value = m.dataset.version;
      if (fLevel) fLevel.value = '';
      if (fText) fText.value = b.dataset.stmt.toLowerCase();
      apply();
      var first = rows.find(function (r) { return !r.hidden; });
      (first || doc.getElementById('toolbar')).scrollIntoView({ block: 'center' });
    });
  });

  // Comparison: one target's result for one case, in a dialog.
  var dialog = doc.getElementById('case-dialog');
  function openCell(run, i, button) {
    if (!dialog) return;
    var body = doc.getElementById('dlg-body');
    loadData().then(function (data) {
      var c = data.runs[run].cases[i];
      var target = doc.querySelectorAll('.target-card h3')[run];
      body.textContent = '';
      var h = el('h3', null, c.id + ' [' + c.v + ']');
      h.id = 'dlg-title';
      body.appendChild(h);
      var p = el('p');
      p.appendChild(el('span', 'badge b-' + c.s, c.s));
      p.appendChild(doc.createTextNode(' ' + (target ? target.textContent : 'run ' + (run + 1)) + ' · ' + (c.l || '') + ' · ' + fmtMs(c.d || 0)));
      body.appendChild(p);
      if (c.ti) body.appendChild(el('p', 'title', c.ti));
      if (c.st && c.st.length) {
        body.appendChild(el('h4', null, 'Statements'));
        var ul = el('ul', 'stmts');
        c.st.forEach(function (id) {
          var li = el('li');
          li.appendChild(el('code', null, id));
          var sum = data.stmts && data.stmts[c.v + ' ' + id];
          li.appendChild(doc.createTextNode(' ' + (sum || '')));
          ul.appendChild(li);
        });
        body.appendChild(ul);
      }
      if (c.m) { body.appendChild(el('h4', null, 'Why')); body.appendChild(el('p', 'why', c.m)); }
      if (c.e || c.a) {
        var dl = el('dl', 'ea');
        if (c.e) { dl.appendChild(el('dt', null, 'Expected')); dl.appendChild(el('dd', null, c.e)); }
        if (c.a) { dl.appendChild(el('dt', null, 'Actual')); dl.appendChild(el('dd', null, c.a)); }
        body.appendChild(dl);
      }
      body.appendChild(el('h4', null, 'Transcript'));
      var box = el('div', 'tx');
      box.appendChild(transcriptTable(c));
      box.dataset.done = '1';
      body.appendChild(box);
      if (!dialog.open) dialog.showModal();
    }, function (err) {
      body.textContent = '';
      body.appendChild(el('p', 'cut', err.message));
      if (!dialog.open) dialog.showModal();
    });
  }

  apply();
  // Hooks for tests and benchmarks: when the page became interactive, and the decoded data.
  window.mqttspec = {
    readyMs: performance.now(),
    initMs: performance.now() - started,
    data: function () { return loadData(); },
    toggle: function (i, open) { var r = doc.getElementById('c' + i); return r ? toggle(r, open) : Promise.reject(new Error('no case ' + i)); },
    apply: apply
  };
  doc.documentElement.dataset.ready = '1';
})();
