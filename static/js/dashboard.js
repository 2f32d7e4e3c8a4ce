/* The live dashboard: connection indicator, WebSocket frames, keyboard navigation. */
(function () {
  "use strict";

  // --- connection indicator ------------------------------------------------------------
  // Sockets that have been open once: their next "connecting" is a reconnect. A filter change
  // swaps in a new socket element, which is a first connect again.
  var opened = new WeakSet();
  function indicate(state, text) {
    var el = document.getElementById("live-indicator");
    if (!el) return;
    el.className = "live live-" + state;
    el.setAttribute("data-state", state);
    el.querySelector(".live-text").textContent = text;
  }
  document.addEventListener("htmx:wsConnecting", function (event) {
    var again = opened.has(event.target);
    indicate(again ? "reconnecting" : "connecting", again ? "reconnecting…" : "connecting…");
  });
  document.addEventListener("htmx:wsOpen", function (event) {
    opened.add(event.target);
    // The consumer sends the current page on every connect, so a reconnect catches up.
    indicate("connected", "live");
  });
  document.addEventListener("htmx:wsClose", function (event) {
    var code = event.detail && event.detail.event ? event.detail.event.code : 0;
    // The extension retries 1006/1011/1012/1013 by itself; anything else is final.
    var retrying = [1006, 1011, 1012, 1013].indexOf(code) >= 0;
    if (!document.body.contains(event.target)) return; // replaced by a filter change
    if (code === 4401) indicate("offline", "signed out");
    else if (code === 4400) indicate("offline", "invalid filter");
    else if (code === 4403) indicate("offline", "no access");
    else if (retrying) indicate("reconnecting", "reconnecting…");
    else indicate("offline", "offline");
  });
  window.addEventListener("offline", function () { indicate("offline", "offline"); });

  // --- frames ------------------------------------------------------------------------
  // Frames carry rows inside <template> (a bare <tr> cannot stand alone in HTML). The ws
  // extension's own handler swaps only top-level elements, so the frame goes through
  // htmx.swap, which also unwraps out-of-band elements from <template>s, exactly like an
  // HTTP response would.
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    event.preventDefault();
    var current = currentUid();
    htmx.swap(event.target, event.detail.message, { swapStyle: "none" });
    if (current) select(document.getElementById(rowId(current)), false);
    document.body.setAttribute("data-frames", String(Number(document.body.getAttribute("data-frames") || 0) + 1));
    document.dispatchEvent(new CustomEvent("dash:frame"));
  });

  // --- rows changed in place -----------------------------------------------------------
  // A row already on the page that changed arrives as an out-of-band outerHTML swap. It is
  // updated cell by cell instead: a new <tr> makes the browser lay out the table again, about
  // three times the work of new cell contents, and 20 open dashboards under churn spent most
  // of a core on it. The highlight is a class for a second, not a fading background: a fade
  // repaints the row on every animation frame for its whole length.
  var CHANGED_MS = 1000;
  var PAGE_STATE = { "class": true, "id": true, "aria-selected": true, "hx-swap-oob": true };
  function syncAttributes(el, next) {
    var i, name, attrs = next.attributes;
    for (i = 0; i < attrs.length; i++) {
      name = attrs[i].name;
      if (!PAGE_STATE[name] && el.getAttribute(name) !== attrs[i].value) el.setAttribute(name, attrs[i].value);
    }
    for (i = el.attributes.length - 1; i >= 0; i--) {
      name = el.attributes[i].name;
      if (!PAGE_STATE[name] && !next.hasAttribute(name)) el.removeAttribute(name);
    }
  }
  function morphRow(row, fresh) {
    var current = row.classList.contains("is-current");
    syncAttributes(row, fresh);
    row.className = fresh.className;
    if (current) row.classList.add("is-current");
    for (var i = 0; i < fresh.cells.length; i++) {
      var cell = row.cells[i], next = fresh.cells[i], html = next.innerHTML;
      if (cell.className !== next.className) cell.className = next.className;
      syncAttributes(cell, next);
      // Compared with the markup the server last sent: the page itself adds titles to <time>.
      var sent = cell.ldSent !== undefined ? cell.ldSent : cell.innerHTML;
      if (sent !== html) {
        cell.innerHTML = html;
        if (window.lifecycleDash) window.lifecycleDash.formatTimes(cell);
      }
      cell.ldSent = html;
    }
    tint(row);
  }
  function tint(row) {
    row.classList.add("is-changed");
    clearTimeout(row.ldChanged);
    row.ldChanged = setTimeout(function () { row.classList.remove("is-changed"); }, CHANGED_MS);
  }
  // A row entering the page live is tinted the same way. (htmx's own htmx-added class is
  // removed after settleDelay, 20 ms: an animation keyed on it never showed.) Page loads and
  // whole-body swaps fire htmx:load on the table body, not on its rows: nothing is tinted.
  document.addEventListener("htmx:load", function (event) {
    var row = event.target;
    if (row && row.tagName === "TR" && row.classList.contains("pod") && row.parentNode && row.parentNode.id === "pod-rows") tint(row);
  });
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var detail = event.detail, row = detail.target;
    var fresh = detail.fragment && detail.fragment.firstElementChild;
    if (!row || !fresh || row.tagName !== "TR" || fresh.tagName !== "TR" || fresh.id !== row.id) return;
    if (!row.classList.contains("pod") || row.cells.length !== fresh.cells.length) return;
    morphRow(row, fresh);
    detail.shouldSwap = false;
  });

  // --- keyboard navigation -------------------------------------------------------------
  var currentId = null;
  function rowId(uid) { return "pod-" + uid.replace(/[^A-Za-z0-9-]/g, "_"); }
  function currentUid() {
    var row = currentId && document.getElementById(currentId);
    return row ? row.getAttribute("data-uid") : null;
  }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#pod-rows tr.pod")); }
  function select(row, scroll) {
    var previous = document.querySelectorAll("#pod-rows tr.is-current");
    for (var i = 0; i < previous.length; i++) {
      previous[i].classList.remove("is-current");
      previous[i].removeAttribute("aria-selected");
    }
    if (!row) { currentId = null; return; }
    row.classList.add("is-current");
    row.setAttribute("aria-selected", "true");
    currentId = row.id;
    if (scroll) row.scrollIntoView({ block: "nearest" });
  }
  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(document.getElementById(currentId));
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[next], true);
  }
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || (target && target.isContentEditable);
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.key === "/") {
      var search = document.getElementById("q");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    } else if (event.key === "j" || event.key === "ArrowDown") {
      event.preventDefault(); move(1);
    } else if (event.key === "k" || event.key === "ArrowUp") {
      event.preventDefault(); move(-1);
    } else if (event.key === "Enter" && currentId && !(event.target && event.target.closest && event.target.closest("a,button"))) {
      var row = document.getElementById(currentId);
      if (row) { event.preventDefault(); window.location.assign(row.getAttribute("data-href")); }
    }
  });
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("#pod-rows tr.pod");
    if (!row) return;
    if (event.target.closest("a")) return; // the name link navigates itself
    select(row, false);
  });
  document.addEventListener("dblclick", function (event) {
    var row = event.target.closest && event.target.closest("#pod-rows tr.pod");
    if (row) window.location.assign(row.getAttribute("data-href"));
  });
  // A filter change swaps the whole body: the old highlight no longer exists.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "dash-body") currentId = null;
  });
})();
