/* Calendar: drag and drop, the one thing HTMX attributes cannot do.
 *
 * Drop an item on a day (month view: it keeps its time of day) or on an hour (week and day
 * views: it keeps its minutes) and the move is posted like the "Move to…" form posts it,
 * with htmx.ajax so the answer (message + Undo) lands in #cal-message and its HX-Trigger
 * refreshes the calendar. Also here: Escape in the item panel, and the arrow keys in the
 * grid. No framework.
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
  // The open panel lies over the side of the grid away from its post (calendar.css), so
  // that the post stays in sight: over the left side for a post right of the middle. Its
  // post is marked as the selected one.
  function placePanel() {
    var layout = document.querySelector(".cal-layout");
    if (!layout) return;
    var body = layout.querySelector("#cal-panel .cal-panel-body[data-ref]");
    var ref = body ? body.getAttribute("data-ref") : null;
    layout.querySelectorAll("#calendar .cal-selected").forEach(function (el) {
      if (el.getAttribute("data-ref") !== ref) el.classList.remove("cal-selected");
    });
    if (!ref) {
      layout.classList.remove("cal-panel-start");
      return;
    }
    var item = layout.querySelector("#calendar .cal-item[data-ref='" + ref + "']");
    if (!item || !item.getClientRects().length) return;  // elsewhere: the panel stays put
    item.classList.add("cal-selected");
    var box = item.getBoundingClientRect();
    var area = layout.getBoundingClientRect();
    layout.classList.toggle("cal-panel-start", box.left + box.width / 2 > area.left + area.width / 2);
  }
  document.addEventListener("htmx:afterSwap", placePanel);
  window.addEventListener("resize", placePanel);

  // The grid (month, week and day views) is one Tab stop, and the arrow keys move in it
  // (a roving tabindex: the stop has tabindex=0, every other cell, link and button in the
  // grid -1). The stops are the cells (a day; in the week and day views an hour of a day)
  // and the links of the posts in them.
  //   Left/Right: the day before or after (month: on into the next week's row).
  //   Up/Down: through the posts of the cell, which are stacked in it, and on to the cell
  //     above or below (month: the week before or after; week and day: the hour).
  //   Home/End: the first or last day of the row. Enter: a post opens in the panel (the
  //     link's own click); a cell opens its day in the day view (the links that do that
  //     with the mouse, the month's dates and the week's column headers, are not Tab stops).
  // At the edge of the period focus stays where it is: Previous and Next load the others.
  // The post's own "Move to…" button is a Tab stop too while its post is the grid's stop.
  var CELL = ".cal-day, .cal-slot";
  var stop = null;  // where the stop was: {date, hour, ref}, to find it again after a refresh

  function grid() {
    return document.querySelector("#calendar [role='grid']");
  }

  function shown(el) {
    return el.getClientRects().length > 0;  // phones hide the empty days and hours
  }

  function stopsIn(cell) {
    return [cell].concat(Array.prototype.slice.call(cell.querySelectorAll(".cal-item .cal-open")));
  }

  function cellsOf(row) {
    return Array.prototype.slice.call(row.querySelectorAll(CELL));
  }

  function setStop(g, target) {
    g.querySelectorAll("[tabindex='0']").forEach(function (el) { el.tabIndex = -1; });
    target.tabIndex = 0;
    var item = target.closest(".cal-item");
    var move = item && item.querySelector(".cal-move");
    if (move) move.tabIndex = 0;
    var cell = target.closest(CELL);
    stop = { date: cell.getAttribute("data-date"), hour: cell.getAttribute("data-hour"),
             ref: item && item.getAttribute("data-ref") };
  }

  function firstStop(g) {
    // Where the last stop was; else today (month) or today's first post (week, day); else
    // the first post, or the first day of the month.
    var found = null;
    if (stop) {
      if (stop.ref) found = g.querySelector(".cal-item[data-ref='" + stop.ref + "'] .cal-open");
      found = found || g.querySelector("[data-date='" + stop.date + "']" +
                                       (stop.hour !== null ? "[data-hour='" + stop.hour + "']" : ""));
    }
    var candidates = g.matches(".cal-month")
      ? [".cal-day.cal-today", ".cal-day:not(.cal-other)"]
      : [".cal-slot.cal-today .cal-open", ".cal-slot .cal-open", ".cal-slot.cal-today", ".cal-slot"];
    for (var i = 0; !found && i < candidates.length; i++) {
      found = Array.prototype.find.call(g.querySelectorAll(candidates[i]), shown) || null;
    }
    return found;
  }

  function initGrid() {
    var g = grid();
    if (!g || g.hasAttribute("data-roving")) return;
    g.setAttribute("data-roving", "");
    g.querySelectorAll(".cal-day, .cal-slot, .cal-day a, .cal-day button, .cal-slot a, .cal-slot button, thead a")
      .forEach(function (el) { el.tabIndex = -1; });
    var first = firstStop(g);
    if (first) setStop(g, first);
  }

  // The cell `step` rows below `cell` (above if negative), in its column, skipping hidden ones.
  function vertical(g, cell, step) {
    var rows = Array.prototype.slice.call(g.querySelectorAll("[role='row'], tbody tr"));
    var col = cellsOf(cell.parentElement).indexOf(cell);
    for (var r = rows.indexOf(cell.parentElement) + step; r >= 0 && r < rows.length; r += step) {
      var other = cellsOf(rows[r])[col];
      if (other && shown(other)) return other;
    }
    return null;
  }

  // The next shown cell after (step 1) or before (-1) `cell` in `cells`.
  function along(cells, cell, step) {
    for (var i = cells.indexOf(cell) + step; i >= 0 && i < cells.length; i += step) {
      if (shown(cells[i])) return cells[i];
    }
    return null;
  }

  function target(g, from, key) {
    var cell = from.closest(CELL);
    var stops = stopsIn(cell);
    var i = stops.indexOf(from);
    var row = cellsOf(cell.parentElement).filter(shown);
    var other;
    switch (key) {
      case "ArrowLeft":
      case "ArrowRight":
        // A month's days follow one another across rows; a week's hour row is one hour.
        var days = g.matches(".cal-month") ? Array.prototype.slice.call(g.querySelectorAll(CELL))
                                           : cellsOf(cell.parentElement);
        return along(days, cell, key === "ArrowLeft" ? -1 : 1);
      case "ArrowDown":
        return stops[i + 1] || vertical(g, cell, 1);
      case "ArrowUp":
        if (i > 0) return stops[i - 1];
        other = vertical(g, cell, -1);
        return other && stopsIn(other).pop();
      case "Home":
        return row[0];
      case "End":
        return row[row.length - 1];
    }
    return null;
  }

  var KEYS = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"];

  document.addEventListener("keydown", function (event) {
    var g = grid();
    if (!g || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var from = event.target;
    if (!g.contains(from) || !from.closest(CELL)) return;
    if (from.matches(".cal-move")) from = from.closest(".cal-item").querySelector(".cal-open");
    if (event.key === "Enter" && from.matches(CELL)) {
      // The day's own link (month), or its column's header link (week).
      var column = from.className.match(/\bcal-d\d\b/);
      var day = from.querySelector(".cal-date a") ||
                (column && g.querySelector("thead ." + column[0] + " a"));
      if (day) {
        event.preventDefault();
        day.click();
      }
      return;
    }
    if (KEYS.indexOf(event.key) < 0 || !from.matches(CELL + ", .cal-open")) return;
    event.preventDefault();  // the page does not scroll, also at the edge
    var to = target(g, from, event.key);
    if (to) {
      setStop(g, to);
      to.focus();
    }
  });

  // A click or a script's focus() (Escape closing the panel) moves the stop there too.
  document.addEventListener("focusin", function (event) {
    var g = grid();
    var el = event.target;
    if (!g || !g.contains(el) || !el.closest(CELL)) return;
    if (el.matches(".cal-move")) el = el.closest(".cal-item").querySelector(".cal-open");
    if (el.matches(CELL + ", .cal-open")) setStop(g, el);
  });

  // The calendar is swapped whole by HTMX (navigation, a move's refresh): set the new grid up.
  // Focus that was in the old grid goes to the same place in the new one.
  var hadFocus = false;
  document.addEventListener("htmx:beforeSwap", function () {
    var g = grid();
    hadFocus = !!(g && g.contains(document.activeElement));
  });
  document.addEventListener("htmx:afterSettle", function () {
    var g = grid();
    if (!g || g.hasAttribute("data-roving")) return;
    initGrid();
    var now = g.querySelector("[tabindex='0']");
    if (hadFocus && now && (document.activeElement === document.body || !document.activeElement)) now.focus();
    hadFocus = false;
  });
  initGrid();
  placePanel();
})();
