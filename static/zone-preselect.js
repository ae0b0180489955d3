// A zone input marked data-preselect-zone starts at the browser's own IANA zone (say
// Europe/Paris) instead of the server's UTC default, when that zone is one the page offers.
// A separate file, not an inline script: the Content-Security-Policy allows only 'self'.
document.addEventListener("DOMContentLoaded", () => {
  let zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;  // no Intl: keep the default
  }
  if (!zone) return;
  for (const input of document.querySelectorAll("input[data-preselect-zone]")) {
    const list = input.list;
    const offered = !list || [...list.options].some((option) => option.value === zone);
    if (offered && input.value === input.defaultValue) input.value = zone;
  }
});
