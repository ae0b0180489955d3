/* What every signed-in page shares (base.html loads it; the CSP allows no inline script). */
"use strict";

// A background refresh (the bell, a queue row) that finds the session ended must not
// reload the page, which would lose what the user is typing; what they do next asks
// them to sign in again.
document.addEventListener("htmx:beforeOnLoad", (event) => {
  const { elt, xhr, requestConfig } = event.detail;
  if (xhr.status === 401 && requestConfig && requestConfig.verb === "get"
      && elt.closest && elt.closest("[data-background]")) {
    event.preventDefault();
  }
});
// The bell's panel closes on Escape and on a click elsewhere, like other menus.
document.addEventListener("click", (event) => {
  const bell = document.getElementById("bell");
  if (bell && bell.open && !bell.contains(event.target)) bell.open = false;
});
document.addEventListener("keydown", (event) => {
  const bell = document.getElementById("bell");
  if (event.key === "Escape" && bell && bell.open) {
    bell.open = false;
    bell.querySelector("summary").focus();
  }
});
// A form marked data-autosubmit (the workspace switcher, a member's role) is sent when
// its select changes; its button does the same without JavaScript.
document.addEventListener("change", (event) => {
  const form = event.target.closest && event.target.closest("form[data-autosubmit]");
  if (form && event.target.tagName === "SELECT") form.requestSubmit();
});
