/* Incident review: drag across the window chart to narrow the window, click it to see the
   cluster at that instant; the time-travel slider moves the instant within the window. */
(function () {
  "use strict";

  function iso(ms) { return new Date(Math.round(ms / 1000) * 1000).toISOString().replace(".000Z", "Z"); }

  function withParams(query, changes) {
    var params = new URLSearchParams(query);
    Object.keys(changes).forEach(function (k) { params.set(k, changes[k]); });
    params.delete("after");
    return params.toString();
  }

  function setupChart(svg) {
    if (svg.dataset.bound) return;
    svg.dataset.bound = "1";
    var start = Date.parse(svg.dataset.start), end = Date.parse(svg.dataset.end);
    var brush = svg.querySelector("#chart-brush");
    var width = svg.viewBox.baseVal.width;
    var down = null;

    function fraction(event) {
      var box = svg.getBoundingClientRect();
      return Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    }
    svg.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      down = fraction(event);
      svg.setPointerCapture(event.pointerId);
    });
    svg.addEventListener("pointermove", function (event) {
      if (down === null) return;
      var f = fraction(event);
      brush.setAttribute("x", String(Math.min(f, down) * width));
      brush.setAttribute("width", String(Math.abs(f - down) * width));
    });
    svg.addEventListener("pointerup", function (event) {
      if (down === null) return;
      var f = fraction(event), a = Math.min(f, down), b = Math.max(f, down);
      down = null;
      var span = end - start;
      if ((b - a) * span < 5000) {
        // A click: the cluster at that instant. Links on lanes keep their own behaviour.
        if (event.target.closest && event.target.closest("a")) return;
        window.location.href = svg.dataset.atUrl + "?" + withParams(svg.dataset.query, { t: iso(start + a * span) });
        return;
      }
      event.preventDefault();
      window.location.href = svg.dataset.reviewUrl + "?" +
        withParams(svg.dataset.query, { from: iso(start + a * span), to: iso(start + b * span) });
    });
    // A drag that starts on a lane must not follow the lane's link.
    svg.addEventListener("click", function (event) {
      if (brush.getAttribute("width") !== "0" && Number(brush.getAttribute("width")) > 2) {
        event.preventDefault();
      }
    });
  }

  function setupSlider(slider) {
    if (slider.dataset.bound) return;
    slider.dataset.bound = "1";
    var start = Date.parse(slider.dataset.start);
    var label = document.getElementById("at-instant");
    slider.addEventListener("input", function () {
      if (label) label.textContent = iso(start + Number(slider.value) * 1000);
    });
    slider.addEventListener("change", function () {
      var t = iso(start + Number(slider.value) * 1000);
      var params = new URLSearchParams(window.location.search);
      params.set("t", t);
      params.delete("after");
      window.location.search = params.toString();
    });
  }

  function init(root) {
    root.querySelectorAll("#window-chart").forEach(setupChart);
    root.querySelectorAll("#at-slider").forEach(setupSlider);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function () { init(document); });
})();
