// The unit registration form (registry/registration_form.html); every part works without it.
(function () {
  // 单位参保地 lists only the places of the chosen 统筹区:
  // <select name="region" data-places='{"110000": ["北京市市本级", …]}' data-places-target="id_…">
  var region = document.querySelector("[data-places]");
  var place = region && document.getElementById(region.getAttribute("data-places-target"));
  if (region && place) {
    var places = JSON.parse(region.getAttribute("data-places"));
    var narrow = function () {
      var chosen = place.value;
      var list = places[region.value] || [];
      while (place.options.length) place.remove(0);
      place.add(new Option(list.length ? "请选择" : (region.value ? "无需选择" : "请先选择统筹区"), ""));
      // A 统筹区 with one place: that place is chosen.
      list.forEach(function (p) { place.add(new Option(p, p, false, p === chosen || list.length === 1)); });
      if (list.length === 1) place.value = list[0];
    };
    region.addEventListener("change", narrow);
    narrow();
  }
  // 所属行业 suggests the 工伤风险类别 (工伤保险行业风险分类表); the user may still change it:
  // <select name="industry" data-risk-classes='{"65": 1, …}' data-risk-target="id_…">
  var industry = document.querySelector("[data-risk-classes]");
  var risk = industry && document.getElementById(industry.getAttribute("data-risk-target"));
  if (industry && risk) {
    var classes = JSON.parse(industry.getAttribute("data-risk-classes"));
    industry.addEventListener("change", function () {
      if (classes[industry.value]) risk.value = String(classes[industry.value]);
    });
    if (!risk.value && classes[industry.value]) risk.value = String(classes[industry.value]);
  }
  // A material already kept shows its thumbnail; 重新上传 brings the file input back.
  document.querySelectorAll("[data-kept-replace]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-kept-replace"));
    if (!input || input.classList.contains("is-invalid")) return;
    button.classList.remove("d-none");
    input.classList.add("d-none");
    button.addEventListener("click", function () {
      input.classList.remove("d-none");
      button.classList.add("d-none");
      input.focus();
      input.click();
    });
  });
})();
