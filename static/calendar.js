/* Calendar: drag and drop, the one thing HTMX attributes cannot do.
 *
 * Drop an item on a day (month view: it keeps its time of day) or on an hour (week and day
 * views: it keeps its minutes) and the move is posted like the "Move to…" form posts it,
 * with htmx.ajax so the answer (message + Undo) lands in #cal-message and its HX-Trigger
 * refreshes the calendar. No framework; nothing else lives here.
 */
(function () {
  "use strict";

  var dragged = null;

  function csrfToken() {
    // base.html puts the token in the body's hx-headers.
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function clearOver() {
    document.querySelectorAll(".cal-over").forEach(function (el) { el.classList.remove("cal-over"); });
  }

  function dropCell(event) {
    return dragged && event.target.closest ? event.target.closest("#calendar [data-drop]") : null;
  }

  document.addEventListener("dragstart", function (event) {
    var item = event.target.closest ? event.target.closest(".cal-item[draggable='true']") : null;
    if (!item) return;
    dragged = item;
    // The drag may start on the item's link: carry the item, not the link's address.
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.getAttribute("data-ref"));
    if (event.target !== item) event.dataTransfer.setDragImage(item, 12, 12);
    item.classList.add("cal-dragging");
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("cal-dragging");
    dragged = null;
    clearOver();
  });

  document.addEventListener("dragover", function (event) {
    var cell = dropCell(event);
    if (!cell) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!cell.classList.contains("cal-over")) {
      clearOver();
      cell.classList.add("cal-over");
    }
  });

  document.addEventListener("drop", function (event) {
    var cell = dropCell(event);
    if (!cell) return;
    event.preventDefault();
    var item = dragged;
    var from = item.closest("[data-drop]");
    clearOver();
    if (from === cell) return;
    var time = item.getAttribute("data-time");  // HH:MM:SS in the calendar's zone
    var hour = cell.getAttribute("data-hour");
    if (hour !== null) time = ("0" + hour).slice(-2) + time.slice(2);
    var root = document.getElementById("calendar");
    var ref = item.getAttribute("data-ref");
    var panel = document.querySelector("#cal-panel [data-ref='" + ref + "']");
    item.classList.add("cal-moving");
    htmx.ajax("POST", root.getAttribute("data-move-url"), {
      source: document.getElementById("cal-message"),
      target: "#cal-message",
      swap: "innerHTML",
      headers: { "X-CSRFToken": csrfToken() },
      values: { ref: ref, to: cell.getAttribute("data-date") + "T" + time,
                tz: root.getAttribute("data-tz"), panel: panel ? "1" : "" }
    });
  });

  // A refused move answers 4xx with the reason: show it rather than drop it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var target = event.detail.target;
    if (target && target.id === "cal-message" && status >= 400 && status < 500) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      document.querySelectorAll(".cal-moving").forEach(function (el) { el.classList.remove("cal-moving"); });
    }
  });
  // Escape closes the item panel from anywhere inside it, the date-time input included:
  // listen on document in the capture phase, before the input or an htmx swap can eat the
  // key, and only while the panel is open. Focus then returns to the item that opened it.
  var openerRef = null;

  document.addEventListener("click", function (event) {
    var item = event.target.closest ? event.target.closest("#calendar .cal-item[data-ref]") : null;
    if (item) openerRef = item.getAttribute("data-ref");
  }, true);

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var panel = document.getElementById("cal-panel");
    var close = panel && panel.querySelector(".cal-panel-head button");
    if (!close || !panel.contains(event.target)) return;
    event.preventDefault();
    event.stopPropagation();
    close.click();
  }, true);

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "cal-panel") return;
    if (event.detail.target.querySelector(".cal-panel-body") || !openerRef) return;
    var item = document.querySelector("#calendar .cal-item[data-ref='" + openerRef + "']");
    var focusable = item && (item.querySelector("a, button") || item);
    if (focusable) focusable.focus();
  });
})();
