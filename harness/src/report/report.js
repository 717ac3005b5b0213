(function () {
  "use strict";
  var status = document.getElementById("js-status");
  function fail(message) {
    status.textContent = "error: " + message;
    status.className = "js-error";
  }
  window.addEventListener("error", function (e) { fail(e.message); });
  function el(id) { return document.getElementById(id); }
  var M = JSON.parse(el("history-meta").textContent);
  // Part tags by name, from the Rust table that writes them (history_data.rs).
  var TAG = {};
  M.part_tags.forEach(function (name, tag) { TAG[name] = tag; });
  var bin = (function (text) {
    var s = atob(text), u = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
    return u;
  })(el("history-bin").textContent.trim());
  var N = M.rows, PAGE = 100, hist = null, rows = null, where = null, drawing = 0;
  var C = {}, STRINGS = [], cache = new Map(), CACHED_CHUNKS = 32;

  function gunzip(span) {
    var part = new Blob([bin.subarray(span[0], span[0] + span[1])]);
    var stream = part.stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).arrayBuffer().then(function (b) { return new Uint8Array(b); });
  }
  // LEB128 varints; zigzag for signed ones. Plain arithmetic keeps 53 bits exact.
  function Reader(bytes) { this.b = bytes; this.p = 0; }
  Reader.prototype.u = function () {
    var b = this.b, x = 0, mul = 1, c;
    do { c = b[this.p++]; x += (c & 127) * mul; mul *= 128; } while (c & 128);
    return x;
  };
  Reader.prototype.s = function () {
    var x = this.u();
    return x % 2 === 0 ? x / 2 : -(x + 1) / 2;
  };
  function column(bytes, spec) {
    var r = new Reader(bytes), out = new Float64Array(N), prev = 0;
    for (var i = 0; i < N; i++) {
      var v = spec.signed ? r.s() : r.u();
      if (spec.delta) { prev += v; v = prev; }
      out[i] = v;
    }
    return out;
  }
  function keyName(k) { return M.keys[k]; }
  function keysetNames(ks) { return ks < 0 ? "" : M.keysets[ks].map(keyName).join(","); }
  function cut(s) {
    if (s.length <= M.summary_max) return s;
    var cps = Array.from(s);
    return cps.length <= M.summary_max ? s : cps.slice(0, M.summary_max).join("") + "\u2026";
  }
  // One chunk's value texts, built from its parts (history_data.rs documents the layout).
  function texts(bytes, c) {
    var head = new Reader(bytes), ls = head.u(), lv = head.u(), at = head.p;
    var s = new Reader(bytes.subarray(at, at + ls));
    var v = new Reader(bytes.subarray(at + ls, at + ls + lv));
    var o = new Reader(bytes.subarray(at + ls + lv));
    var pv = 0, po = new Map(), count = Math.min(M.chunk_rows, N - c * M.chunk_rows);
    var out = new Array(count);
    function val() { pv += v.s(); return pv; }
    // Offsets are deltas per key, sends apart from reads (slot 2k and 2k+1).
    function off(slot) {
      var x = (po.get(slot) || 0) + o.s();
      po.set(slot, x);
      return x;
    }
    for (var i = 0; i < count; i++) {
      var n = s.u(), parts = [];
      for (var j = 0; j < n; j++) {
        var tag = s.u(), t;
        if (tag === TAG.send) { t = keyName(s.u()) + ": " + val(); }
        else if (tag === TAG.send_at) { var ks = s.u(); t = keyName(ks) + ": "; t += val() + " @" + off(2 * ks); }
        else if (tag === TAG.read) {
          var kr = s.u(), recs = s.u(), o1 = off(2 * kr + 1), o2 = o1 + recs - 1 + o.s();
          po.set(2 * kr + 1, o2);
          var v1 = val(), v2 = val();
          t = keyName(kr) + ": " + recs + " recs @" + o1 + ".." + o2 + " (" + v1 + ".." + v2 + ")";
        }
        else if (tag === TAG.read_nothing) { t = keyName(s.u()) + ": nothing"; }
        else if (tag === TAG.nothing_read) { t = "nothing read"; }
        else if (tag === TAG.assign) { var set = s.u() - 1; t = "keys " + keysetNames(set) + (s.u() ? " from start" : ""); }
        else if (tag === TAG.error) { t = "error: " + STRINGS[s.u()]; }
        else if (tag === TAG.text) { t = STRINGS[s.u()]; }
        else { throw new Error("history data: unknown part " + tag); }
        parts.push(t);
      }
      out[i] = cut(parts.join("; "));
    }
    return out;
  }
  function chunk(c) {
    var p = cache.get(c);
    if (p) return p;
    p = gunzip(M.chunks[c]).then(function (b) { return texts(b, c); });
    cache.set(c, p);
    if (cache.size > CACHED_CHUNKS) cache.delete(cache.keys().next().value);
    return p;
  }
  function opt(sel, value, text) {
    var o = document.createElement("option");
    o.value = value; o.textContent = text; sel.appendChild(o);
  }
  // The page's one pager: the history view and every finding list show `size` items at a
  // time through it. `bar` holds its controls, found by class (first, prev, next, last,
  // page-go, page-info: page.rs `pager`); `total()` counts the items; `draw(start, end,
  // arg)` draws items [start, end) and returns a promise. After each drawing `holder`'s
  // data-shown says page/pages/items (the browser tests read it).
  function Pager(bar, size, total, draw, holder) {
    var self = this;
    this.bar = bar; this.size = size; this.total = total; this.draw = draw;
    this.holder = holder; this.page = 0;
    function on(cls, target) {
      self.part(cls).addEventListener("click", function () { self.show(target()); });
    }
    on("first", function () { return 0; });
    on("prev", function () { return self.page - 1; });
    on("next", function () { return self.page + 1; });
    on("last", function () { return self.pages() - 1; });
    var go = this.part("page-go");
    go.addEventListener("change", function () { self.show(parseInt(go.value, 10) - 1); });
  }
  Pager.prototype.part = function (cls) { return this.bar.querySelector("." + cls); };
  Pager.prototype.pages = function () { return Math.max(1, Math.ceil(this.total() / this.size)); };
  Pager.prototype.show = function (p) {
    if (p >= 0 && p < this.pages() && p !== this.page) { this.page = p; this.redraw(null).catch(report); }
  };
  Pager.prototype.redraw = function (arg) {
    var start = this.page * this.size, end = Math.min(this.total(), start + this.size);
    var first = this.page === 0, last = this.page >= this.pages() - 1, self = this;
    this.part("first").disabled = this.part("prev").disabled = first;
    this.part("next").disabled = this.part("last").disabled = last;
    return this.draw(start, end, arg).then(function (drawn) {
      if (drawn === false) return;
      self.holder.setAttribute("data-shown", (self.page + 1) + "/" + self.pages() + "/" + self.total());
    });
  };
  Pager.prototype.info = function (text) { this.part("page-info").textContent = text; };

  function count() { return rows ? rows.length : N; }
  function at(j) { return rows ? rows[j] : j; }
  function applyFilter() {
    var p = el("f-process").value.trim();
    var k = +el("f-key").value, f = +el("f-f").value, o = +el("f-outcome").value;
    var t0 = parseFloat(el("f-from").value), t1 = parseFloat(el("f-to").value);
    var pn = p === "" ? null : (p === "nemesis" ? -1 : parseInt(p, 10));
    var from = isNaN(t0) ? -Infinity : t0 * 1e6, to = isNaN(t1) ? Infinity : t1 * 1e6;
    if (pn === null && k < 0 && f < 0 && o < 0 && from === -Infinity && to === Infinity) {
      rows = null;
    } else {
      var P = C.process, K = C.keys, F = C.f, O = C.outcome, T = C.time;
      var has = null;
      if (k >= 0) has = M.keysets.map(function (set) { return set.indexOf(k) >= 0; });
      var hit = new Int32Array(N), m = 0;
      for (var i = 0; i < N; i++) {
        if ((pn === null || P[i] === pn) && (has === null || (K[i] >= 0 && has[K[i]])) &&
            (f < 0 || F[i] === f) && (o < 0 || O[i] === o) && T[i] >= from && T[i] <= to) {
          hit[m++] = i;
        }
      }
      rows = hit.subarray(0, m);
    }
    hist.page = 0;
    return hist.redraw(null);
  }
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  // Draws history rows [start, end); false when a later drawing superseded this one.
  function render(start, end, highlight) {
    var mine = ++drawing, table = el("history-table"), need = [];
    for (var j = start; j < end; j++) {
      var c = Math.floor(at(j) / M.chunk_rows);
      if (need.indexOf(c) < 0) need.push(c);
    }
    table.setAttribute("aria-busy", "true");
    return Promise.all(need.map(chunk)).then(function (got) {
      if (mine !== drawing) return false;
      var text = new Map();
      need.forEach(function (c, i) { text.set(c, got[i]); });
      var frag = document.createDocumentFragment(), target = null;
      for (var j = start; j < end; j++) {
        var i = at(j), idx = C.index[i], done = C.complete[i], lat = C.latency[i];
        var tr = document.createElement("tr");
        tr.id = "op-" + idx;
        if (idx === highlight) { tr.className = "hl"; target = tr; }
        cell(tr, done !== 0 ? idx + "\u2192" + (idx + done) : String(idx));
        cell(tr, (C.time[i] / 1e6).toFixed(3));
        cell(tr, C.process[i] < 0 ? "nemesis" : String(C.process[i]));
        cell(tr, M.f[C.f[i]]);
        var outcome = M.outcomes[C.outcome[i]];
        cell(tr, outcome, outcome);
        cell(tr, lat < 0 ? "" : (lat / 1000).toFixed(3));
        cell(tr, keysetNames(C.keys[i]));
        cell(tr, text.get(Math.floor(i / M.chunk_rows))[i % M.chunk_rows]);
        frag.appendChild(tr);
      }
      var tb = el("history-rows");
      tb.textContent = "";
      tb.appendChild(frag);
      hist.info("page " + (hist.page + 1) + " of " + hist.pages() + " (" + count() +
        " of " + N + " operations)");
      table.removeAttribute("aria-busy");
      if (target) target.scrollIntoView({ block: "center" });
    });
  }
  function position(index) {
    var I = C.index, lo = 0, hi = N - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (I[mid] === index) return mid;
      if (I[mid] < index) lo = mid + 1; else hi = mid - 1;
    }
    if (where === null) {
      where = new Map();
      for (var i = 0; i < N; i++) if (C.complete[i] !== 0) where.set(I[i] + C.complete[i], i);
    }
    return where.get(index);
  }
  function jump(index) {
    var pos = position(index);
    if (pos === undefined) {
      el("page-info").textContent = "operation " + index + " is not in the history";
      return Promise.resolve();
    }
    ["f-process", "f-from", "f-to"].forEach(function (id) { el(id).value = ""; });
    ["f-key", "f-f", "f-outcome"].forEach(function (id) { el(id).value = "-1"; });
    rows = null;
    hist.page = Math.floor(pos / PAGE);
    return hist.redraw(C.index[pos]);
  }
  // One finding of a finding list: explanation, key, value, offset,
  // witness links, details. Every text comes ready from Rust (`PageFinding`).
  function finding(f) {
    var div = document.createElement("div");
    div.className = "finding";
    function text(t) { div.appendChild(document.createTextNode(t)); }
    function code(label, v) {
      if (v === undefined) return;
      text(label);
      var c = document.createElement("code");
      c.textContent = v;
      div.appendChild(c);
    }
    text(f.explanation);
    code(" \u2014 key ", f.key);
    code(", value ", f.value);
    code(", offset ", f.offset);
    div.appendChild(document.createElement("br"));
    text("witness: ");
    f.ops.forEach(function (op, i) {
      if (i > 0) text(", ");
      var a = document.createElement("a");
      a.className = "op-link";
      a.href = "#op-" + op;
      a.setAttribute("data-op", String(op));
      a.textContent = String(op);
      div.appendChild(a);
    });
    if (f.details !== undefined) {
      var d = document.createElement("details"), s = document.createElement("summary");
      var pre = document.createElement("pre");
      s.textContent = "details";
      pre.textContent = f.details;
      d.appendChild(s);
      d.appendChild(pre);
      div.appendChild(d);
    }
    return div;
  }
  // Every finding list (`.finding-list`, its findings in `findings-data` under its
  // data-kind) gets a pager of data-page-rows findings: one page is in the DOM at a time.
  function findingLists() {
    var data = el("findings-data"), F = data ? JSON.parse(data.textContent) : {};
    var lists = document.querySelectorAll(".finding-list");
    return Promise.all(Array.prototype.map.call(lists, function (list) {
      var items = F[list.getAttribute("data-kind")] || [], box = list.querySelector(".finding-rows");
      var pager = new Pager(list.querySelector(".pager"), parseInt(list.getAttribute("data-page-rows"), 10),
        function () { return items.length; },
        function (start, end) {
          var frag = document.createDocumentFragment();
          for (var i = start; i < end; i++) frag.appendChild(finding(items[i]));
          box.textContent = "";
          box.appendChild(frag);
          pager.info(items.length === 0 ? "no finding in the page" : "page " + (pager.page + 1) + " of " +
            pager.pages() + " (findings " + (start + 1) + "\u2013" + end + " of " + items.length + ")");
          return Promise.resolve(true);
        }, list);
      return pager.redraw(null);
    }));
  }
  function report(e) { fail(e && e.message ? e.message : String(e)); }
  function start() {
    M.keys.forEach(function (k, i) { opt(el("f-key"), i, k); });
    M.f.forEach(function (f, i) { opt(el("f-f"), i, f); });
    M.outcomes.forEach(function (o, i) { opt(el("f-outcome"), i, o); });
    el("filters").addEventListener("submit", function (e) { e.preventDefault(); applyFilter().catch(report); });
    el("f-reset").addEventListener("click", function () {
      el("filters").reset();
      applyFilter().catch(report);
    });
    hist = new Pager(el("history").querySelector(".pager"), PAGE, count, render, el("history-table"));
    document.addEventListener("click", function (e) {
      var a = e.target.closest ? e.target.closest("a.op-link") : null;
      if (!a) return;
      e.preventDefault();
      jump(parseInt(a.getAttribute("data-op"), 10)).catch(report);
    });
    var m = /^#op-(\d+)$/.exec(location.hash);
    return Promise.all([findingLists(), m ? jump(parseInt(m[1], 10)) : hist.redraw(null)]);
  }
  var names = M.columns.map(function (c) { return c[0]; });
  Promise.all(M.columns.map(function (c) { return gunzip(c[1].span); }))
    .then(function (members) {
      members.forEach(function (bytes, i) { C[names[i]] = column(bytes, M.columns[i][1]); });
      // The bytes are kept in `bin`: drop the page's copy of the text (~19 MB for a
      // million operations) so it neither holds memory nor weighs on every DOM walk.
      el("history-bin").textContent = "";
      return gunzip(M.strings);
    })
    .then(function (bytes) {
      STRINGS = JSON.parse(new TextDecoder().decode(bytes));
      return start();
    })
    .then(function () {
      if (status.className === "js-error") return;
      status.textContent = "ok";
      document.body.setAttribute("data-report-ready", String(N));
    })
    .catch(report);
})();
