//! The page's inline stylesheet and script. They are constants (no external assets) so the
//! report opens from disk, offline, years later.
//!
//! The script renders the history view: it parses the compact data of `history_data.rs`
//! once, filters it by process, key, type, outcome and time, and draws one page of rows at
//! a time, so a million-operation history never becomes a million DOM rows. Witness links
//! (`#op-N`, N a history line index) jump to the page holding that operation. When it has
//! run without error it writes `ok` into `#js-status` (the browser test reads it).

/// The stylesheet.
pub const CSS: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 60px;color:#222;line-height:1.4}
h1{margin:18px 0 6px}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
nav a{margin-right:12px}
.verdict{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:bold;color:#fff}
.verdict.valid{background:#2ca02c}.verdict.invalid{background:#d62728}.verdict.unknown{background:#ff7f0e}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}
.kv th{width:170px}
pre,code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
pre{background:#f7f7f7;padding:8px;overflow-x:auto;white-space:pre-wrap}
.note{background:#fff8e1;border-left:4px solid #ff9800;padding:6px 10px;margin:6px 0}
.anomaly{border-left:4px solid #c80078;padding:2px 10px;margin:12px 0}
.anomaly.not-counted{border-left-color:#aaa}
.finding{margin:4px 0;font-size:14px}
.plot svg{max-width:100%;height:auto;display:block;margin:8px 0}
.legend span{display:inline-block;width:14px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
#filters label{margin-right:10px;font-size:13px}
#filters input{width:80px}
#history-table{width:100%}
#history-table td.ok{color:#1f77b4}#history-table td.fail{color:#d62728}#history-table td.info{color:#e67e00}
#history-table tr.hl{background:#ffe3f3}
#js-status{font-size:11px;color:#888}
#js-status.js-error{color:#d62728;font-weight:bold}
.pager button{margin:0 4px}
.marked{background:#ffe3f3}
"#;

/// The script (no external library).
pub const JS: &str = r#"
(function () {
  "use strict";
  var status = document.getElementById("js-status");
  window.addEventListener("error", function (e) {
    status.textContent = "error: " + e.message;
    status.className = "js-error";
  });
  var D = JSON.parse(document.getElementById("history-data").textContent);
  var ops = D.ops, PAGE = 100, page = 0, rows = ops, where = null;
  function el(id) { return document.getElementById(id); }
  function opt(sel, value, text) {
    var o = document.createElement("option");
    o.value = value; o.textContent = text; sel.appendChild(o);
  }
  D.keys.forEach(function (k, i) { opt(el("f-key"), i, k); });
  D.f.forEach(function (f, i) { opt(el("f-f"), i, f); });
  D.outcomes.forEach(function (o, i) { opt(el("f-outcome"), i, o); });
  function keyMatch(k, want) {
    if (want < 0) return true;
    if (Array.isArray(k)) return k.indexOf(want) >= 0;
    return k === want;
  }
  function keyNames(k) {
    if (Array.isArray(k)) return k.map(function (i) { return D.keys[i]; }).join(",");
    return k < 0 ? "" : D.keys[k];
  }
  function applyFilter() {
    var p = el("f-process").value.trim();
    var k = +el("f-key").value, f = +el("f-f").value, o = +el("f-outcome").value;
    var t0 = parseFloat(el("f-from").value), t1 = parseFloat(el("f-to").value);
    var pn = p === "" ? null : (p === "nemesis" ? -1 : parseInt(p, 10));
    var from = isNaN(t0) ? -Infinity : t0 * 1000, to = isNaN(t1) ? Infinity : t1 * 1000;
    if (pn === null && k < 0 && f < 0 && o < 0 && from === -Infinity && to === Infinity) {
      rows = ops;
    } else {
      rows = ops.filter(function (r) {
        return (pn === null || r[2] === pn) && keyMatch(r[7], k) && (f < 0 || r[3] === f) &&
          (o < 0 || r[4] === o) && r[5] >= from && r[5] <= to;
      });
    }
    page = 0;
    render(null);
  }
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  function render(highlight) {
    var tb = el("history-rows");
    var frag = document.createDocumentFragment();
    var start = page * PAGE, end = Math.min(rows.length, start + PAGE);
    var target = null;
    for (var i = start; i < end; i++) {
      var r = rows[i];
      var tr = document.createElement("tr");
      tr.id = "op-" + r[0];
      if (r[0] === highlight) { tr.className = "hl"; target = tr; }
      cell(tr, r[1] >= 0 ? r[0] + "\u2192" + r[1] : String(r[0]));
      cell(tr, (r[5] / 1000).toFixed(3));
      cell(tr, r[2] < 0 ? "nemesis" : String(r[2]));
      cell(tr, D.f[r[3]]);
      cell(tr, D.outcomes[r[4]], D.outcomes[r[4]]);
      cell(tr, r[6] < 0 ? "" : r[6].toFixed(3));
      cell(tr, keyNames(r[7]));
      cell(tr, r[8]);
      frag.appendChild(tr);
    }
    tb.textContent = "";
    tb.appendChild(frag);
    var pages = Math.max(1, Math.ceil(rows.length / PAGE));
    el("page-info").textContent = "page " + (page + 1) + " of " + pages + " (" + rows.length +
      " of " + ops.length + " operations)";
    if (target) target.scrollIntoView({ block: "center" });
  }
  function jump(index) {
    if (where === null) {
      where = new Map();
      for (var i = 0; i < ops.length; i++) {
        where.set(ops[i][0], i);
        if (ops[i][1] >= 0) where.set(ops[i][1], i);
      }
    }
    var pos = where.get(index);
    if (pos === undefined) { el("page-info").textContent = "operation " + index + " is not in the history"; return; }
    ["f-process", "f-from", "f-to"].forEach(function (id) { el(id).value = ""; });
    ["f-key", "f-f", "f-outcome"].forEach(function (id) { el(id).value = "-1"; });
    rows = ops;
    page = Math.floor(pos / PAGE);
    render(ops[pos][0]);
  }
  el("filters").addEventListener("submit", function (e) { e.preventDefault(); applyFilter(); });
  el("f-reset").addEventListener("click", function () {
    el("filters").reset();
    applyFilter();
  });
  el("prev").addEventListener("click", function () { if (page > 0) { page--; render(null); } });
  el("next").addEventListener("click", function () {
    if ((page + 1) * PAGE < rows.length) { page++; render(null); }
  });
  el("page-go").addEventListener("change", function () {
    var p = parseInt(el("page-go").value, 10) - 1;
    if (p >= 0 && p * PAGE < rows.length) { page = p; render(null); }
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a.op-link") : null;
    if (!a) return;
    e.preventDefault();
    jump(parseInt(a.getAttribute("data-op"), 10));
  });
  var m = /^#op-(\d+)$/.exec(location.hash);
  if (m) jump(parseInt(m[1], 10)); else render(null);
  status.textContent = "ok";
  document.body.setAttribute("data-report-ready", String(ops.length));
})();
"#;
