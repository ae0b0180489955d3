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
// A menu (details[data-menu]: the header's workspace menu) closes on Escape, giving the
// focus back to its button, on a click elsewhere and when the focus moves out of it.
function openMenus() {
  return document.querySelectorAll("details[data-menu][open]");
}
document.addEventListener("click", (event) => {
  openMenus().forEach((menu) => { if (!menu.contains(event.target)) menu.open = false; });
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  openMenus().forEach((menu) => {
    menu.open = false;
    if (menu.contains(document.activeElement)) menu.querySelector("summary").focus();
  });
});
document.addEventListener("focusout", (event) => {
  const menu = event.target.closest && event.target.closest("details[data-menu][open]");
  if (menu && event.relatedTarget && !menu.contains(event.relatedTarget)) menu.open = false;
});
// A form marked data-autosubmit (the workspace switcher, a member's role) is sent when
// its select changes; its button does the same without JavaScript.
document.addEventListener("change", (event) => {
  const form = event.target.closest && event.target.closest("form[data-autosubmit]");
  if (form && event.target.tagName === "SELECT") form.requestSubmit();
});
// The channel form shows only the selected platform's settings (every platform's
// fieldset is on the page, marked data-platform; without JavaScript all are shown).
function showPlatformFields(select) {
  const form = select.closest("form");
  if (!form) return;
  form.querySelectorAll(".platform-fields[data-platform]").forEach((fieldset) => {
    fieldset.hidden = fieldset.dataset.platform !== select.value;
  });
}
document.addEventListener("change", (event) => {
  if (event.target.matches && event.target.matches("select.platform-select")) {
    showPlatformFields(event.target);
  }
});
document.querySelectorAll("select.platform-select").forEach(showPlatformFields);
document.addEventListener("htmx:load", (event) => {
  event.detail.elt.querySelectorAll("select.platform-select").forEach(showPlatformFields);
});
