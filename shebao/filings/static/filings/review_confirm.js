// The review page's approve question names the persons who will be refused: each refusal
// input carries data-refuse-row (name and masked ID number); as the reviewer types reasons,
// the approve button's data-confirm (read by site.js on click) is rewritten.
(function () {
  "use strict";
  var button = document.getElementById("approve-button");
  if (!button) { return; }
  function inputs() { return document.querySelectorAll("[data-refuse-row]"); }
  function update() {
    var all = inputs(), lines = [];
    all.forEach(function (input) {
      var reason = input.value.trim();
      if (reason) { lines.push(input.getAttribute("data-refuse-row") + "：" + reason); }
    });
    if (!lines.length) {
      button.setAttribute("data-confirm", button.getAttribute("data-confirm-all"));
      return;
    }
    button.setAttribute(
      "data-confirm",
      "确定审核通过？以下 " + lines.length + " 人不通过：\n" + lines.join("\n") +
        "\n其余 " + (all.length - lines.length) + " 人通过。通过后立即生效，不能撤销。"
    );
  }
  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("[data-refuse-row]")) { update(); }
  });
  update();
})();
