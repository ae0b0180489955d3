/* The queue page's behaviour for editors (queue.html loads it; the CSP allows no inline
 * script and no hx-on:* attribute, which htmx would evaluate with eval). */
"use strict";

// Selecting rows: "select all", the count, and the batch buttons only once something is selected.
(() => {
  const picks = () => [...document.querySelectorAll('input[name="ids"][form="queue-batch"]')];
  function update() {
    const all = picks(), chosen = all.filter((p) => p.checked).length;
    const out = document.getElementById("queue-selected");
    if (out) out.textContent = chosen ? `${chosen} selected` : "None selected";
    const every = document.getElementById("queue-select-all");
    if (every) {
      every.checked = chosen > 0 && chosen === all.length;
      every.indeterminate = chosen > 0 && chosen < all.length;
    }
    document.querySelectorAll('#queue-batch button[name="action"]').forEach((b) => { b.disabled = !chosen; });
  }
  document.addEventListener("change", (event) => {
    if (event.target.id === "queue-select-all") picks().forEach((p) => { p.checked = event.target.checked; });
    if (event.target.id === "queue-select-all" || event.target.name === "ids") update();
  });
  document.addEventListener("htmx:afterSettle", update);
  document.addEventListener("DOMContentLoaded", update);
})();
// A batch result's "Dismiss" removes the result; a confirmation's "Keep them" empties the
// result area it was shown in, or, on the confirmation's own page, follows its link.
document.addEventListener("click", (event) => {
  const dismiss = event.target.closest && event.target.closest("[data-dismiss]");
  if (dismiss) {
    const gone = dismiss.closest(dismiss.dataset.dismiss);
    if (gone) gone.remove();
  }
  const empties = event.target.closest && event.target.closest("[data-empties]");
  const area = empties && document.querySelector(empties.dataset.empties);
  if (area) {
    event.preventDefault();
    area.replaceChildren();
  }
});
