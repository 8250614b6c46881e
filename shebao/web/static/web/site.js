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
  document.addEventListener("htmx:afterSwap", function (e) {
    var box = e.detail.target.querySelector("[data-resend-after]");
    if (box) countdown(document.getElementById(box.getAttribute("data-button")), parseInt(box.getAttribute("data-resend-after"), 10));
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
