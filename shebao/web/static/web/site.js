// Small progressive enhancements; every page works without them.
(function () {
  // Confirm before irreversible actions: <button data-confirm="确定…？">
  document.addEventListener("click", function (e) {
    var el = e.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) { e.preventDefault(); e.stopPropagation(); }
  }, true);
  // SMS "获取验证码" buttons count down before the next try is allowed.
  function countdown(btn, seconds) {
    if (!btn || seconds <= 0) return;
    var label = btn.getAttribute("data-label") || btn.textContent;
    btn.setAttribute("data-label", label);
    btn.disabled = true;
    var left = seconds;
    var timer = setInterval(function () {
      left -= 1;
      btn.textContent = left > 0 ? left + " 秒后重新获取" : label;
      if (left <= 0) { btn.disabled = false; clearInterval(timer); }
    }, 1000);
    btn.textContent = left + " 秒后重新获取";
  }
  // Print buttons: <button type="button" data-print> (no onclick: the policy forbids inline code).
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-print]")) window.print();
  });
  // Progress bars: <div class="progress-bar" data-progress="37">. The width is set through the
  // CSSOM (el.style.width), which the policy allows, not a style="" attribute, which it refuses.
  function showProgress(root) {
    var bars = Array.prototype.slice.call(root.querySelectorAll("[data-progress]"));
    if (root.matches && root.matches("[data-progress]")) bars.push(root);
    bars.forEach(function (bar) {
      var percent = Math.min(100, Math.max(0, parseFloat(bar.getAttribute("data-progress")) || 0));
      bar.style.width = percent + "%";
    });
  }
  showProgress(document);
  document.addEventListener("htmx:load", function (e) { showProgress(e.target); });
  // Phone tables: each body and footer cell gets its column's header text as data-label, and
  // the table .table-stack; below 576 px site.css shows each row as a card of "label: value".
  // Headers of two rows (a group over its columns) give "group · column". Cells spanning
  // several columns (a 合计 label, an empty-list note) get no label. Opt out: .table-keep.
  function headerLabels(head) {
    var grid = [];
    Array.prototype.forEach.call(head.rows, function (row, r) {
      grid[r] = grid[r] || [];
      var c = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        while (grid[r][c] !== undefined) c += 1;
        var text = cell.textContent.replace(/\s+/g, " ").trim();
        for (var dr = 0; dr < (cell.rowSpan || 1); dr += 1) {
          grid[r + dr] = grid[r + dr] || [];
          for (var dc = 0; dc < (cell.colSpan || 1); dc += 1) grid[r + dr][c + dc] = text;
        }
        c += cell.colSpan || 1;
      });
    });
    var labels = [];
    grid.forEach(function (row) {
      row.forEach(function (text, c) {
        var parts = labels[c] || [];
        if (text && parts.indexOf(text) < 0) parts.push(text);
        labels[c] = parts;
      });
    });
    return labels.map(function (parts) { return parts.join(" · "); });
  }
  // Body and footer cells: a grid per section remembers the columns taken by cells spanning
  // down from earlier rows (rowspan), so each later cell lands under its own column's header.
  function labelSection(section, labels) {
    var taken = [];
    Array.prototype.forEach.call(section.rows, function (row, r) {
      taken[r] = taken[r] || [];
      var c = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        while (taken[r][c]) c += 1;
        var span = cell.colSpan || 1;
        if (span === 1 && labels[c]) cell.setAttribute("data-label", labels[c]);
        else cell.removeAttribute("data-label");
        for (var dr = 0; dr < Math.max(1, cell.rowSpan || 1); dr += 1) {
          taken[r + dr] = taken[r + dr] || [];
          for (var dc = 0; dc < span; dc += 1) taken[r + dr][c + dc] = true;
        }
        c += span;
      });
    });
  }
  function labelTable(table) {
    if (table.classList.contains("table-keep") || !table.tHead || !table.tHead.rows.length) return;
    var labels = headerLabels(table.tHead);
    Array.prototype.forEach.call(table.tBodies, function (body) { labelSection(body, labels); });
    if (table.tFoot) labelSection(table.tFoot, labels);
    table.classList.add("table-stack");
  }
  function labelTables(root) {
    if (!root || !root.querySelectorAll) return;
    var owner = root.closest ? root.closest("table") : null;
    if (owner) labelTable(owner);
    Array.prototype.forEach.call(root.querySelectorAll("table"), labelTable);
  }
  labelTables(document);
  document.addEventListener("htmx:load", function (e) { labelTables(e.target); });
  document.addEventListener("htmx:afterSwap", function (e) { labelTables(e.detail.target); });
  document.addEventListener("htmx:afterSwap", function (e) {
    var box = e.detail.target.querySelector("[data-resend-after]");
    if (box) countdown(document.getElementById(box.getAttribute("data-button")), parseInt(box.getAttribute("data-resend-after"), 10));
  });
  // A form answered with errors shows #error-summary (tabindex=-1): focus it and bring it into
  // view, on load and after a swap that brings one, so screen readers and phones start there.
  function focusErrorSummary(root) {
    var box = root && root.id === "error-summary" ? root : (root && root.querySelector ? root.querySelector("#error-summary") : null);
    if (!box) return;
    box.focus({ preventScroll: true });
    box.scrollIntoView({ block: "start" });
  }
  focusErrorSummary(document);
  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail.target;
    focusErrorSummary(target && target.isConnected === false ? document : target);
  });
  // Too many requests (429) answers a short Chinese message: show it where the answer goes.
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.xhr.status === 429) { e.detail.shouldSwap = true; e.detail.isError = false; }
  });
  // Unit type decides the insurance types; only 机关/事业单位 may change them.
  var typeSelect = document.querySelector("[data-unit-type-defaults]");
  if (typeSelect) {
    var defaults = JSON.parse(typeSelect.getAttribute("data-unit-type-defaults"));
    var editable = JSON.parse(typeSelect.getAttribute("data-editable-types"));
    var apply = function () {
      var t = typeSelect.value;
      var boxes = document.querySelectorAll("input[name='insurance_types']");
      boxes.forEach(function (b) {
        if (defaults[t]) b.checked = defaults[t].indexOf(b.value) >= 0;
        b.disabled = editable.indexOf(t) < 0;
      });
    };
    typeSelect.addEventListener("change", apply);
    apply();
    var form = typeSelect.form;
    if (form) form.addEventListener("submit", function () {
      form.querySelectorAll("input[name='insurance_types']").forEach(function (b) { b.disabled = false; });
    });
  }
})();
