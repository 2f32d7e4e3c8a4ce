/* Site-wide preferences: theme (auto/light/dark) and time zone (UTC/local), kept in
   localStorage. Loaded blocking in <head> so the stored theme applies before first paint. */
(function () {
  "use strict";
  var root = document.documentElement;
  var THEMES = ["auto", "light", "dark"];

  function stored(key, allowed, fallback) {
    try {
      var value = window.localStorage.getItem(key);
      return allowed.indexOf(value) >= 0 ? value : fallback;
    } catch (e) {
      return fallback; // storage disabled: defaults, no error
    }
  }
  function store(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* ignore */ }
  }

  root.setAttribute("data-theme", stored("ld-theme", THEMES, "auto"));
  root.setAttribute("data-time", stored("ld-time", ["utc", "local"], "utc"));

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // <time datetime="...Z"> is rendered in UTC by the server; rewrite its text for "local".
  function formatTime(el) {
    var iso = el.getAttribute("datetime");
    if (!iso) return;
    var d = new Date(iso);
    if (isNaN(d.getTime())) return;
    var local = root.getAttribute("data-time") === "local";
    var full = local
      ? d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
        pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds())
      : iso.replace("T", " ").replace("Z", " UTC");
    if (local) {
      var offset = -d.getTimezoneOffset();
      full += " UTC" + (offset >= 0 ? "+" : "-") + pad(Math.floor(Math.abs(offset) / 60)) + ":" +
        pad(Math.abs(offset) % 60);
    }
    el.title = full;
    if (el.classList.contains("ts")) {
      // Clock times (not relative ages) show in the chosen zone.
      if (!el.hasAttribute("data-utc-text")) el.setAttribute("data-utc-text", el.textContent);
      el.textContent = local
        ? pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds())
        : el.getAttribute("data-utc-text");
    }
  }
  function formatTimes(scope) {
    var nodes = (scope || document).querySelectorAll("time[datetime]");
    for (var i = 0; i < nodes.length; i++) formatTime(nodes[i]);
  }
  window.lifecycleDash = { formatTimes: formatTimes };

  function syncButtons() {
    var theme = document.getElementById("theme-toggle");
    if (theme) theme.textContent = "Theme: " + root.getAttribute("data-theme");
    var time = document.getElementById("time-toggle");
    if (time) {
      var local = root.getAttribute("data-time") === "local";
      time.textContent = local ? "Local time" : "UTC";
      time.setAttribute("aria-pressed", local ? "true" : "false");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    syncButtons();
    formatTimes(document);
    var theme = document.getElementById("theme-toggle");
    if (theme) theme.addEventListener("click", function () {
      var next = THEMES[(THEMES.indexOf(root.getAttribute("data-theme")) + 1) % THEMES.length];
      root.setAttribute("data-theme", next);
      store("ld-theme", next);
      syncButtons();
    });
    var time = document.getElementById("time-toggle");
    if (time) time.addEventListener("click", function () {
      var next = root.getAttribute("data-time") === "local" ? "utc" : "local";
      root.setAttribute("data-time", next);
      store("ld-time", next);
      syncButtons();
      formatTimes(document);
    });
  });
  // New content (htmx swaps, WebSocket frames) gets the chosen zone too.
  document.addEventListener("htmx:load", function (event) { formatTimes(event.target); });
})();
