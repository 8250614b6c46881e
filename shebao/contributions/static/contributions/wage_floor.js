// The base that will be used, shown under a wage input as the user types: an input with
// data-wage-floor and data-wage-cap (the region's bounds, from the server) gets a note when the
// wage is below the floor or above the cap. The server shows the same note on saved rows
// (contributions.calculator.calc.base_note).
(function () {
  "use strict";
  function yuan(n) {
    return n.toFixed(2).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }
  function noteFor(input) {
    var raw = input.value.trim().replace(/,/g, "");
    if (!/^\d+(\.\d+)?$/.test(raw)) { return ""; }
    var wage = Math.round(parseFloat(raw) * 100) / 100;
    var floor = parseFloat(input.getAttribute("data-wage-floor"));
    var cap = parseFloat(input.getAttribute("data-wage-cap"));
    if (wage < floor) { return "低于缴费基数下限 " + yuan(floor) + " 元，将按下限 " + yuan(floor) + " 元计算"; }
    if (wage > cap) { return "高于缴费基数上限 " + yuan(cap) + " 元，将按上限 " + yuan(cap) + " 元计算"; }
    return "";
  }
  function update(input) {
    var note = input.parentNode.querySelector("[data-wage-note]");
    if (!note) {
      note = document.createElement("div");
      note.className = "form-text text-warning-emphasis";
      note.setAttribute("data-wage-note", "");
      note.setAttribute("aria-live", "polite");
      input.insertAdjacentElement("afterend", note);
    }
    note.textContent = noteFor(input);
  }
  function all() {
    document.querySelectorAll("input[data-wage-floor]").forEach(update);
  }
  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("input[data-wage-floor]")) { update(e.target); }
  });
  document.addEventListener("htmx:afterSwap", all);
  all();
})();
