// Drag across the swimlanes to zoom: the selection becomes ?from=...&to=... (RFC 3339).
// No inline handlers: the page's Content-Security-Policy will forbid inline scripts.
(function () {
  "use strict";

  function svgX(svg, event) {
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    return point.matrixTransform(svg.getScreenCTM().inverse()).x;
  }

  function timeAt(svg, x) {
    const start = Date.parse(svg.dataset.start);
    const end = Date.parse(svg.dataset.end);
    const left = parseFloat(svg.dataset.left);
    const right = parseFloat(svg.dataset.right);
    const ratio = Math.min(Math.max((x - left) / (right - left), 0), 1);
    return new Date(start + ratio * (end - start));
  }

  function rfc3339(date) {
    return date.toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  let drag = null;

  document.addEventListener("pointerdown", function (event) {
    const svg = event.target.closest && event.target.closest("svg.swimlanes");
    if (!svg || event.button !== 0) return;
    const x = svgX(svg, event);
    if (x < parseFloat(svg.dataset.left)) return;
    drag = { svg: svg, x0: x, rect: svg.querySelector(".selection") };
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag) return;
    const x = svgX(drag.svg, event);
    drag.rect.setAttribute("x", Math.min(x, drag.x0));
    drag.rect.setAttribute("width", Math.abs(x - drag.x0));
  });

  document.addEventListener("pointerup", function (event) {
    if (!drag) return;
    const current = drag;
    drag = null;
    const x = svgX(current.svg, event);
    current.rect.setAttribute("width", 0);
    if (Math.abs(x - current.x0) < 6) return;
    const from = timeAt(current.svg, Math.min(x, current.x0));
    const to = timeAt(current.svg, Math.max(x, current.x0));
    if (to - from < 1000) to.setTime(from.getTime() + 1000);
    const url = new URL(window.location.href);
    url.searchParams.set("from", rfc3339(from));
    url.searchParams.set("to", rfc3339(to));
    window.location.assign(url.toString());
  });
})();
